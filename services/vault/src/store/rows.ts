/**
 * Turns database rows into the store's types. Both drivers return loosely typed rows
 * (better-sqlite3: numbers, Buffers, JSON text; pg: bigint as strings, Buffers, parsed
 * jsonb), so every column goes through one converter that checks what it gets.
 */
import { BkvError, type Kdf } from '@bkv/protocol';

import type { PendingEnrollment, PendingRecoveryTaken, StoredRecord } from './store';

/** A row as either driver returns it; the converters below decide what each column is. */
export type Row = Record<string, unknown>;

function corrupt(column: string): BkvError {
  return new BkvError('INTERNAL', `Stored column ${column} has an unexpected value`);
}

/** An integer column: a JS number, a bigint, or pg's decimal string for `bigint`. */
export function int(row: Row, column: string): number {
  const value = row[column];
  const n = typeof value === 'string' || typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw corrupt(column);
  return n;
}

export function time(row: Row, column: string): Date {
  return new Date(int(row, column));
}

export function optionalTime(row: Row, column: string): Date | null {
  return row[column] === null || row[column] === undefined ? null : time(row, column);
}

/** A copy as a plain Uint8Array, so callers never hold a driver's Buffer. */
export function bytes(row: Row, column: string): Uint8Array {
  const value = row[column];
  if (!(value instanceof Uint8Array)) throw corrupt(column);
  return new Uint8Array(value);
}

export function text(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw corrupt(column);
  return value;
}

/** SQLite keeps the KDF as JSON text, PostgreSQL as jsonb (already parsed by pg). */
export function kdf(row: Row, column = 'kdf'): Kdf {
  const raw = row[column];
  const value: unknown = typeof raw === 'string' ? JSON.parse(raw) : raw;
  if (typeof value !== 'object' || value === null) throw corrupt(column);
  const { alg, memoryKiB, iterations, parallelism } = value as Record<string, unknown>;
  const isCount = (n: unknown): n is number => Number.isSafeInteger(n);
  if (alg !== 'argon2id' || !isCount(memoryKiB) || !isCount(iterations) || !isCount(parallelism)) {
    throw corrupt(column);
  }
  return { alg, memoryKiB, iterations, parallelism };
}

/** The KDF as the one JSON text both stores write (jsonb normalises it again on its side). */
export function kdfJson(value: Kdf): string {
  const { alg, memoryKiB, iterations, parallelism } = value;
  return JSON.stringify({ alg, memoryKiB, iterations, parallelism });
}

/** A `Uint8Array` as the Buffer view both drivers bind as a blob / bytea, without a copy. */
export function blob(value: Uint8Array): Buffer {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** A full `records` row: the active record, or the tombstone that remains when locked. */
export function toStoredRecord(row: Row): StoredRecord {
  const state = text(row, 'state');
  const userId = text(row, 'user_id');
  const version = int(row, 'version');
  if (state === 'locked') return { state, userId, version, lockedAt: time(row, 'locked_at') };
  if (state !== 'active') throw corrupt('state');
  return {
    state,
    userId,
    version,
    kdf: kdf(row),
    salt: bytes(row, 'salt'),
    guessLimit: int(row, 'guess_limit'),
    guessesUsed: int(row, 'guesses_used'),
    failuresInRow: int(row, 'failures_in_row'),
    nextAttemptAt: optionalTime(row, 'next_attempt_at'),
    oprfPublicKey: bytes(row, 'oprf_public_key'),
    wrappedOprfKey: bytes(row, 'wrapped_oprf_key'),
    wrapKeyId: int(row, 'wrap_key_id'),
    sealed: bytes(row, 'sealed'),
    createdAt: time(row, 'created_at'),
    updatedAt: time(row, 'updated_at'),
  };
}

export function toPendingEnrollment(row: Row): PendingEnrollment {
  return {
    id: text(row, 'id'),
    userId: text(row, 'user_id'),
    kdf: kdf(row),
    salt: bytes(row, 'salt'),
    guessLimit: int(row, 'guess_limit'),
    oprfPublicKey: bytes(row, 'oprf_public_key'),
    wrappedOprfKey: bytes(row, 'wrapped_oprf_key'),
    wrapKeyId: int(row, 'wrap_key_id'),
    createdAt: time(row, 'created_at'),
    expiresAt: time(row, 'expires_at'),
  };
}

/** A pending recovery's version and its record's sealed payload, for `userId`. */
export function toPendingRecovery(userId: string, row: Row): PendingRecoveryTaken {
  return { userId, version: int(row, 'version'), sealed: bytes(row, 'sealed') };
}
