/**
 * What-if knobs for the recovery benchmark, to measure what bounds the HTTP figure without
 * changing the vault's code. They reach into the running vault's SQLite store, which no
 * production path can do.
 *
 * Without the WAL sync: the writes that wait for the disk (a counted guess, a new record) are
 * answered at their commit, as if the log were synced at checkpoints only (the vault syncs it
 * before it answers them, as the brief asks for a durably counted guess).
 */
import type { RunningVault } from '@bkv/vault';

type Sync = (done: (err: Error | null) => void) => void;

/** The store's own sync, kept while a what-if replaces it. */
const ownSync = new WeakMap<object, Sync>();

/** Turns the SQLite store's WAL sync off (`synced` false) or back on. */
export function setWalSync(vault: RunningVault, synced: boolean): void {
  const wal = (vault.deps.store as unknown as { wal?: { sync: Sync } }).wal;
  if (wal === undefined) throw new Error('this what-if needs the SQLite store');
  if (!ownSync.has(wal)) ownSync.set(wal, wal.sync);
  wal.sync = synced ? ownSync.get(wal)! : (done) => done(null);
}

/** Applies BENCH_SKIP_WAL_SYNC=1 when set (the benchmark sets it for a child vault). */
export function applyStoreKnobs(vault: RunningVault): void {
  if (process.env.BENCH_SKIP_WAL_SYNC === '1') setWalSync(vault, false);
}
