/**
 * Test helpers for the SQLite store that look at the file, not at the code: how many
 * transactions have committed is read from the write-ahead log, where each one ends with a
 * commit frame, so a test can count COMMITs without a hook in the store. And a hold on the
 * WAL syncs, so a test can see what waits for the disk.
 */
import { existsSync, readFileSync } from 'node:fs';

import type { WalSync } from './sqlite-batch';

/** The WAL header, and each frame's header before its page (sqlite.org/fileformat2.html §4.1). */
const WAL_HEADER = 32;
const FRAME_HEADER = 24;

/**
 * The commits in `file`'s WAL since it was last reset: frames whose salts match the header's
 * (older frames left by a reset have other salts) and whose "database size after commit" field
 * is set. Read-only transactions write no frames and so do not count. Valid until a checkpoint
 * resets the log, which a test file of fewer than 1000 pages written never reaches.
 */
export function walCommits(file: string): number {
  const wal = `${file}-wal`;
  if (!existsSync(wal)) return 0;
  const log = readFileSync(wal);
  if (log.length < WAL_HEADER) return 0;
  const pageSize = log.readUInt32BE(8);
  const salts = [log.readUInt32BE(16), log.readUInt32BE(20)];

  let commits = 0;
  for (let at = WAL_HEADER; at + FRAME_HEADER + pageSize <= log.length;) {
    if (log.readUInt32BE(at + 8) !== salts[0] || log.readUInt32BE(at + 12) !== salts[1]) break;
    if (log.readUInt32BE(at + 4) !== 0) commits += 1;
    at += FRAME_HEADER + pageSize;
  }
  return commits;
}

/** A WAL sync whose answers a test hands out: the real fdatasync runs, its callback waits. */
export interface HeldSyncs {
  /** Syncs asked for so far. */
  readonly asked: number;
  /** Syncs finished on the disk and waiting for `release`. */
  readonly held: number;
  /** Answers the oldest held sync; waits for it to finish on the disk first. */
  release(): Promise<void>;
}

/**
 * Holds every answer of `wal.sync` until released. `failFirst` is the first sync's answer
 * instead of the disk's, as Linux reports a failed writeback once; later syncs answer as the
 * disk does.
 */
export function holdSyncs(wal: WalSync, failFirst?: Error): HeldSyncs {
  const real = wal.sync.bind(wal);
  const finished: Array<Promise<() => void>> = [];
  let asked = 0;
  let released = 0;
  wal.sync = (done) => {
    asked += 1;
    const fail = asked === 1 ? failFirst : undefined;
    finished.push(new Promise((resolve) => real((err) => resolve(() => done(fail ?? err)))));
  };
  return {
    get asked() {
      return asked;
    },
    get held() {
      return asked - released;
    },
    async release() {
      const answer = await finished[released++];
      if (answer === undefined) throw new Error('no sync is held');
      answer();
    },
  };
}

/** Lets the event loop run a few turns: what a promise that is not held would need. */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
}
