import {
  BkvError,
  concatBytes,
  kdfMeets,
  recordAad,
  toBase64url,
  type CommitRequest,
  type CommitResponse,
  type EnrollRequest,
  type EnrollResponse,
} from '@bkv/protocol';
import type { UseCaseDeps } from './deps';

/**
 * `POST /v1/enrollments`: makes the record's OPRF key inside the HSM, evaluates the blinded
 * element with it and keeps the wrapped key in a pending enrollment until the commit.
 */
export async function startEnrollment(
  deps: UseCaseDeps,
  userId: string,
  request: EnrollRequest,
): Promise<EnrollResponse> {
  const { policy, hsm, store } = deps;

  // The realm states its minimum cost; a cheaper KDF would make offline guessing cheaper.
  if (!kdfMeets(request.kdf, policy.kdfMinimum)) {
    throw new BkvError('WEAK_KDF', 'the KDF parameters are below the realm minimum');
  }
  const guessLimit = request.guessLimit ?? policy.guessLimit.default;
  if (guessLimit > policy.guessLimit.max) {
    throw new BkvError('INVALID_REQUEST', `guessLimit may be at most ${policy.guessLimit.max}`, {
      field: 'guessLimit',
    });
  }

  // Protocol brief, "OPRF evaluation inside a PKCS#11 HSM": k is made and used in the HSM.
  const key = await hsm.makeOprfKey();
  const evaluated = await hsm.evaluateOprf(key, request.blindedElement);

  const now = deps.clock();
  const expiresAt = new Date(now.getTime() + policy.enrollmentTtlSeconds * 1000);
  const id = deps.newId();
  await store.putEnrollment({
    id,
    userId,
    kdf: request.kdf,
    salt: request.salt,
    guessLimit,
    oprfPublicKey: key.publicKey,
    wrappedOprfKey: key.wrappedKey,
    wrapKeyId: key.wrapKeyId,
    createdAt: now,
    expiresAt,
  });
  return { enrollmentId: id, evaluatedElement: toBase64url(evaluated), expiresAt: iso(expiresAt) };
}

/** A commit races only with another commit of the same user; a few retries settle it. */
const COMMIT_ATTEMPTS = 3;

/**
 * `POST /v1/enrollments/{id}/commit`: seals the client's unlock tag and sealed key under the
 * HSM sealing key, bound to the user and the new version, and replaces any earlier record in
 * one transaction.
 */
export async function commitEnrollment(
  deps: UseCaseDeps,
  userId: string,
  enrollmentId: string,
  request: CommitRequest,
): Promise<CommitResponse> {
  const { store, hsm } = deps;
  const notFound = () =>
    new BkvError('ENROLLMENT_NOT_FOUND', 'no such enrollment: unknown, expired or used');

  const enrollment = await store.getEnrollment(enrollmentId, userId, deps.clock());
  if (!enrollment) throw notFound();

  const payload = concatBytes(request.unlockTag, request.sealedKey);
  try {
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      // The version is part of the sealing AAD, so it is fixed before sealing and the store
      // commits only if no other commit took it meanwhile. It goes above the last version the
      // user ever had, not only the current record's: after a forget there is none, and a
      // repeated version would let an old generation's pending work act on the new record.
      const current = await store.getRecord(userId);
      const last = await store.lastVersion(userId);
      const version = Math.max(current?.version ?? 0, last) + 1;
      const sealed = await hsm.seal(payload, recordAad(hsm.realmId, userId, version));
      const outcome = await store.commitEnrollment(
        enrollmentId,
        current?.version ?? null,
        {
          userId,
          version,
          kdf: enrollment.kdf,
          salt: enrollment.salt,
          guessLimit: enrollment.guessLimit,
          oprfPublicKey: enrollment.oprfPublicKey,
          wrappedOprfKey: enrollment.wrappedOprfKey,
          wrapKeyId: enrollment.wrapKeyId,
          sealed,
        },
        deps.clock(),
      );
      if (outcome.kind === 'enrollment_not_found') throw notFound();
      if (outcome.kind === 'committed') {
        deps.log.info({ version, guessLimit: enrollment.guessLimit }, 'record committed');
        return {
          version,
          guessLimit: enrollment.guessLimit,
          guessesRemaining: enrollment.guessLimit,
        };
      }
    }
  } finally {
    payload.fill(0);
  }
  throw new BkvError('OVERLOADED', 'the record changed during the commit; try again');
}

export function iso(date: Date): string {
  return date.toISOString();
}
