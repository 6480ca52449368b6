/**
 * The named parameters both stores bind: the same names (`:userId`, `:salt`, ...) appear in
 * the SQLite and the PostgreSQL statements, and both drivers take the same values (integer
 * milliseconds for times, Buffer views for bytes, JSON text for the KDF). Built here once so
 * the two stores cannot drift apart on what a column receives.
 */
import { backoffParams } from './backoff';
import { blob, kdfJson } from './rows';
import type { NewRecord, PendingEnrollment, StartRecovery } from './store';

/** A pending enrollment as the `putEnrollment` statement binds it. */
export function enrollmentParams(e: PendingEnrollment) {
  return {
    id: e.id,
    userId: e.userId,
    kdf: kdfJson(e.kdf),
    salt: blob(e.salt),
    guessLimit: e.guessLimit,
    oprfPublicKey: blob(e.oprfPublicKey),
    wrappedOprfKey: blob(e.wrappedOprfKey),
    wrapKeyId: e.wrapKeyId,
    createdAt: e.createdAt.getTime(),
    expiresAt: e.expiresAt.getTime(),
  };
}

/** A committed record as the insert and replace statements bind it, written at `now`. */
export function recordParams(r: NewRecord, now: Date) {
  return {
    userId: r.userId,
    version: r.version,
    kdf: kdfJson(r.kdf),
    salt: blob(r.salt),
    guessLimit: r.guessLimit,
    oprfPublicKey: blob(r.oprfPublicKey),
    wrappedOprfKey: blob(r.wrappedOprfKey),
    wrapKeyId: r.wrapKeyId,
    sealed: blob(r.sealed),
    now: now.getTime(),
  };
}

/** A start of recovery, with the backoff policy spelled out for the guess-consuming SQL. */
export function startParams(start: StartRecovery) {
  return {
    ...backoffParams(start.backoff),
    userId: start.userId,
    version: start.version,
    recoveryId: start.recoveryId,
    now: start.now.getTime(),
    expiresAt: start.expiresAt.getTime(),
  };
}
