import { timingSafeEqual } from 'node:crypto';
import {
  BkvError,
  LENGTHS,
  recordAad,
  toBase64url,
  type RecoveryFinishRequest,
  type RecoveryFinishResponse,
  type RecoveryStartRequest,
  type RecoveryStartResponse,
} from '@bkv/protocol';
import type { UseCaseDeps } from './deps';
import { iso } from './enroll';

const lockedOut = () =>
  new BkvError('LOCKED_OUT', 'the record was destroyed after too many wrong passphrases');

/**
 * `POST /v1/recoveries`: consumes a guess durably, then evaluates the blinded element with the
 * record's OPRF key (protocol brief, "Guess accounting" 1 and 2: the store's single conditional
 * update decides, so concurrent starts never get more evaluations than guesses left).
 */
export async function startRecovery(
  deps: UseCaseDeps,
  userId: string,
  request: RecoveryStartRequest,
): Promise<RecoveryStartResponse> {
  const { store, hsm, policy } = deps;
  const now = deps.clock();
  const expiresAt = new Date(now.getTime() + policy.recoveryTtlSeconds * 1000);
  const recoveryId = deps.newId();

  const outcome = await store.startRecovery({
    userId,
    version: request.version,
    recoveryId,
    now,
    expiresAt,
    backoff: policy.backoff,
  });
  switch (outcome.kind) {
    case 'no_record':
      throw new BkvError('NO_RECORD', 'no escrowed key for this user');
    case 'version_mismatch':
      throw new BkvError('VERSION_MISMATCH', 'the record has another version; read it again');
    case 'backoff': {
      const retryAfter = Math.max(1, Math.ceil((outcome.retryAt.getTime() - now.getTime()) / 1000));
      throw new BkvError('RATE_LIMITED', 'too many failed attempts in a row; wait', {
        retryAfter,
      });
    }
    case 'locked':
      if (outcome.destroyedNow) onDestroyed(deps);
      throw lockedOut();
    case 'started':
      break;
  }

  // The guess is spent from here on, whatever happens to the evaluation.
  deps.events.guessConsumed();
  deps.log.info({ guessesRemaining: outcome.guessesRemaining }, 'guess consumed');
  const key = {
    wrappedKey: outcome.wrappedOprfKey,
    publicKey: outcome.oprfPublicKey,
    wrapKeyId: outcome.wrapKeyId,
  };
  const evaluated = await hsm.evaluateOprf(key, request.blindedElement);
  return {
    recoveryId,
    evaluatedElement: toBase64url(evaluated),
    guessesRemaining: outcome.guessesRemaining,
    expiresAt: iso(expiresAt),
  };
}

/**
 * `POST /v1/recoveries/{id}/finish`: accepted once, for the user's own unexpired recovery. The
 * right tag resets the counter and releases the sealed key; a wrong one with no guesses left
 * destroys the record (invariants 3 and 4).
 */
export async function finishRecovery(
  deps: UseCaseDeps,
  userId: string,
  recoveryId: string,
  request: RecoveryFinishRequest,
): Promise<RecoveryFinishResponse> {
  const { store, hsm } = deps;
  const now = deps.clock();

  const notFound = async () => {
    const record = await store.getRecord(userId);
    if (record?.state === 'locked') return lockedOut();
    return new BkvError('RECOVERY_NOT_FOUND', 'no such recovery: unknown, expired or finished');
  };
  // Opened before the recovery is taken: an HSM that fails here leaves it open, so that the
  // client's retry of a 503 finds it (and the guess its start counted is not lost for nothing).
  const pending = await store.peekRecovery(recoveryId, userId, now);
  if (!pending) throw await notFound();
  const payload = await hsm.open(pending.sealed, recordAad(hsm.realmId, userId, pending.version));
  try {
    // The single-use claim: a concurrent finish, or a new enrollment, since the peek wins.
    const taken = await store.takeRecovery(recoveryId, userId, now);
    if (taken?.version !== pending.version) throw await notFound();
    const expected = payload.subarray(0, LENGTHS.unlockTag);
    if (timingSafeEqual(expected, request.unlockTag)) {
      await store.recordRightGuess(userId, taken.version, now);
      deps.log.info({ version: taken.version }, 'recovery succeeded');
      return {
        version: taken.version,
        sealedKey: toBase64url(payload.subarray(LENGTHS.unlockTag)),
      };
    }
  } finally {
    payload.fill(0);
  }

  const wrong = await store.recordWrongGuess(userId, pending.version, now);
  if (wrong.kind === 'locked') {
    if (wrong.destroyedNow) onDestroyed(deps);
    throw lockedOut();
  }
  deps.log.info({ guessesRemaining: wrong.guessesRemaining }, 'wrong passphrase');
  throw new BkvError('WRONG_PASSPHRASE', 'wrong passphrase', {
    guessesRemaining: wrong.guessesRemaining,
  });
}

function onDestroyed(deps: UseCaseDeps): void {
  deps.events.recordDestroyed();
  deps.log.warn('record destroyed after the last guess');
}
