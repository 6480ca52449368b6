/**
 * Naming a chunk that failed to open. A chunk that does not verify at its position is either
 * damaged, or an intact chunk of this file in the wrong place. The latter is found by trying
 * the nearby positions; the search runs only after a failure, so it costs nothing otherwise.
 */
import { BackupError } from './backup-error';
import type { SealedChunk } from './chunk-reader';
import { chunkNonce, chunkWireLength, MAX_CHUNKS } from './format';

/** How far from its expected position a misplaced chunk is looked for, either way. */
export const MISPLACED_SEARCH = 16;

/** Opens `chunk` as if it were at `index`; true when it verifies there. */
export type TryIndex = (chunk: SealedChunk, nonce: Uint8Array) => boolean | Promise<boolean>;

/**
 * The error for a chunk that does not open at its position: DUPLICATE_CHUNK (it is an earlier
 * chunk again), OUT_OF_ORDER (a later chunk came early), else DAMAGED.
 */
export async function diagnoseChunk(chunk: SealedChunk, opens: TryIndex): Promise<BackupError> {
  for (const other of candidates(chunk.index)) {
    if (await opens(chunk, chunkNonce(other, chunk.final))) return misplaced(chunk, other);
  }
  return damaged(chunk);
}

/** The same, for a cipher that answers at once (no promise per try). */
export function diagnoseChunkSync(
  chunk: SealedChunk,
  opens: (chunk: SealedChunk, nonce: Uint8Array) => boolean,
): BackupError {
  for (const other of candidates(chunk.index)) {
    if (opens(chunk, chunkNonce(other, chunk.final))) return misplaced(chunk, other);
  }
  return damaged(chunk);
}

/** Index 0 first (a file spliced onto another's start), then nearest first. */
function candidates(index: number): number[] {
  const list = [0];
  for (let distance = 1; distance <= MISPLACED_SEARCH; distance++) {
    list.push(index - distance, index + distance);
  }
  return list.filter((other) => other !== index && other >= 0 && other < MAX_CHUNKS);
}

function misplaced(chunk: SealedChunk, other: number): BackupError {
  const where = `chunk ${chunk.index} at byte ${chunk.offset}`;
  if (other < chunk.index) {
    return new BackupError('DUPLICATE_CHUNK', `${where} is a copy of chunk ${other}`, chunk.offset);
  }
  return new BackupError(
    'OUT_OF_ORDER',
    `${where} is chunk ${other}: chunks were reordered or removed`,
    chunk.offset,
  );
}

function damaged(chunk: SealedChunk): BackupError {
  const length = chunk.ciphertext.reduce((n, piece) => n + piece.length, 0);
  const end = chunk.offset + chunkWireLength(length);
  return new BackupError(
    'DAMAGED',
    `chunk ${chunk.index} (bytes ${chunk.offset} to ${end - 1}) is damaged: ` +
      'it does not authenticate',
    chunk.offset,
  );
}
