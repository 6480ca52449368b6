/**
 * What-if knobs for the recovery benchmark, to measure what bounds the HTTP figure without
 * changing the vault's code. They reach into the running vault's SQLite connection, which no
 * production path can do; they are off unless their environment variable is set.
 *
 * BENCH_SQLITE_SYNCHRONOUS=NORMAL: under WAL, sync the log at checkpoints only, not at every
 * commit (the vault chooses FULL, as the brief asks for a durably counted guess).
 */
import type { RunningVault } from '@bkv/vault';

/** Applies the knobs the environment sets; returns a note for the report, empty if none. */
export function applyStoreKnobs(vault: RunningVault): string {
  const synchronous = process.env.BENCH_SQLITE_SYNCHRONOUS;
  if (synchronous === undefined || synchronous === '') return '';
  if (!/^(OFF|NORMAL|FULL|EXTRA)$/i.test(synchronous)) {
    throw new Error(`BENCH_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA`);
  }
  const db = (vault.deps.store as unknown as { db?: { pragma(sql: string): unknown } }).db;
  if (db === undefined) throw new Error('BENCH_SQLITE_SYNCHRONOUS needs the SQLite store');
  db.pragma(`synchronous = ${synchronous}`);
  return `SQLite synchronous=${synchronous.toUpperCase()} (what-if)`;
}
