/**
 * What-if knobs for the recovery benchmark, to measure what bounds the HTTP figure without
 * changing the vault's code. They reach into the running vault's SQLite connection, which no
 * production path can do.
 *
 * `synchronous = NORMAL`: under WAL, sync the log at checkpoints only, not at every commit (the
 * vault chooses FULL, as the brief asks for a durably counted guess).
 */
import type { RunningVault } from '@bkv/vault';

type Synchronous = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

/** Sets SQLite's `synchronous` on the vault's own connection. */
export function setSqliteSynchronous(vault: RunningVault, mode: Synchronous): void {
  const db = (vault.deps.store as unknown as { db?: { pragma(sql: string): unknown } }).db;
  if (db === undefined) throw new Error('this what-if needs the SQLite store');
  db.pragma(`synchronous = ${mode}`);
}

/** Applies BENCH_SQLITE_SYNCHRONOUS when set (the benchmark sets it for a child vault). */
export function applyStoreKnobs(vault: RunningVault): void {
  const mode = process.env.BENCH_SQLITE_SYNCHRONOUS?.toUpperCase();
  if (mode === undefined || mode === '') return;
  if (!['OFF', 'NORMAL', 'FULL', 'EXTRA'].includes(mode)) {
    throw new Error('BENCH_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA');
  }
  setSqliteSynchronous(vault, mode as Synchronous);
}
