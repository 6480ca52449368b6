/**
 * Argument checks at the store's edge. The use cases validate requests long before they
 * reach the store; these checks are the last line, so that a programming error can never
 * write a half-valid row or touch a counter. Each throws before any statement runs.
 */
import { BkvError } from '@bkv/protocol';

import { checkBackoffPolicy } from './backoff';
import type { NewRecord, PendingEnrollment, StartRecovery } from './store';

function invalid(field: string): BkvError {
  return new BkvError('INVALID_REQUEST', `Invalid store argument: ${field}`, { field });
}

export function checkId(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) throw invalid(field);
}

export function checkCount(value: unknown, field: string, min = 0): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < min) throw invalid(field);
}

export function checkDate(value: unknown, field: string): asserts value is Date {
  if (!(value instanceof Date) || !Number.isSafeInteger(value.getTime())) throw invalid(field);
}

function checkBytes(value: unknown, field: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length === 0) throw invalid(field);
}

function checkKdf(value: unknown, field: string): void {
  if (typeof value !== 'object' || value === null) throw invalid(field);
  const { alg, memoryKiB, iterations, parallelism } = value as Record<string, unknown>;
  if (alg !== 'argon2id') throw invalid(field);
  for (const n of [memoryKiB, iterations, parallelism]) checkCount(n, field, 1);
}

/** The fields that an enrollment and the record made from it share. */
function checkKeyFields(value: PendingEnrollment | NewRecord): void {
  checkId(value.userId, 'userId');
  checkKdf(value.kdf, 'kdf');
  checkBytes(value.salt, 'salt');
  checkCount(value.guessLimit, 'guessLimit', 1);
  checkBytes(value.oprfPublicKey, 'oprfPublicKey');
  checkBytes(value.wrappedOprfKey, 'wrappedOprfKey');
  checkCount(value.wrapKeyId, 'wrapKeyId');
}

export function checkEnrollment(enrollment: PendingEnrollment): void {
  checkId(enrollment.id, 'id');
  checkKeyFields(enrollment);
  checkDate(enrollment.createdAt, 'createdAt');
  checkDate(enrollment.expiresAt, 'expiresAt');
}

/** A commit must move the version forward: the sealed payload's AAD binds it. */
export function checkCommit(expectedVersion: number | null, record: NewRecord, now: Date): void {
  if (expectedVersion !== null) checkCount(expectedVersion, 'expectedVersion', 1);
  checkKeyFields(record);
  checkCount(record.version, 'version', (expectedVersion ?? 0) + 1);
  checkBytes(record.sealed, 'sealed');
  checkDate(now, 'now');
}

export function checkStart(start: StartRecovery): void {
  checkId(start.userId, 'userId');
  checkCount(start.version, 'version', 1);
  checkId(start.recoveryId, 'recoveryId');
  checkDate(start.now, 'now');
  checkDate(start.expiresAt, 'expiresAt');
  checkBackoffPolicy(start.backoff);
}

/** A guess's outcome: the user, the record version the guess was made at, and the time. */
export function checkGuess(userId: string, version: number, now: Date): void {
  checkId(userId, 'userId');
  checkCount(version, 'version', 1);
  checkDate(now, 'now');
}

/** A pending recovery named by its finish: its id, its user and the time of the finish. */
export function checkRecoveryRef(recoveryId: string, userId: string, now: Date): void {
  checkId(recoveryId, 'recoveryId');
  checkId(userId, 'userId');
  checkDate(now, 'now');
}
