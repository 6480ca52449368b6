import { mkdirSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BkvError } from '@bkv/protocol';

/**
 * Runs `fn` while holding a lock folder that every process sharing a SoftHSM data folder can
 * see (`mkdir` is atomic). A lock older than `staleMs` was left by a process that died and is
 * taken over.
 */
export async function withFileLock<T>(
  path: string,
  fn: () => T | Promise<T>,
  staleMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + 2 * staleMs;
  for (;;) {
    try {
      mkdirSync(path);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const held = statSync(path, { throwIfNoEntry: false });
      if (held !== undefined && Date.now() - held.mtimeMs > staleMs) {
        rmSync(path, { recursive: true, force: true });
      } else if (Date.now() > deadline) {
        throw new BkvError('HSM_UNAVAILABLE', `lock ${path} is held`);
      }
      await sleep(25);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}
