/**
 * Naming a chunk that failed to open. A chunk that does not verify at its position is either
 * damaged, or an intact chunk of this file in the wrong place. The latter is found by trying
 * the nearby positions; the search runs only after a failure, so it costs nothing otherwise.
 */
import { BackupError } from './backup-error';
import type { ChunkCipher } from './chunk-cipher';
import { chunkNonce, chunkWireLength, MAX_CHUNKS } from './format';

/** How far from its expected position a misplaced chunk is looked for, either way. */
export const MISPLACED_SEARCH = 16;

/** A chunk as read: its frame (the AAD), flag, ciphertext pieces and tag. */
export interface ReadChunk {
  frame: Uint8Array;
  final: boolean;
  ciphertext: readonly Uint8Array[];
  tag: Uint8Array;
}

/**
 * The error for a chunk that does not open at position `index`, starting at byte `offset`:
 * DUPLICATE_CHUNK (it is an earlier chunk again), OUT_OF_ORDER (a later chunk came early),
 * else DAMAGED.
 */
export function diagnoseChunk(
  cipher: ChunkCipher,
  chunk: ReadChunk,
  index: number,
  offset: number,
): BackupError {
  const candidates = [0];
  for (let distance = 1; distance <= MISPLACED_SEARCH; distance++) {
    candidates.push(index - distance, index + distance);
  }

  for (const other of candidates) {
    if (other === index || other < 0 || other >= MAX_CHUNKS) continue;
    const nonce = chunkNonce(other, chunk.final);
    const plaintext = cipher.open(nonce, chunk.frame, chunk.ciphertext, chunk.tag);
    if (plaintext === undefined) continue;
    for (const piece of plaintext) piece.fill(0);

    if (other < index) {
      return new BackupError(
        'DUPLICATE_CHUNK',
        `chunk ${index} at byte ${offset} is a copy of chunk ${other}`,
        offset,
      );
    }
    return new BackupError(
      'OUT_OF_ORDER',
      `chunk ${index} at byte ${offset} is chunk ${other}: chunks were reordered or removed`,
      offset,
    );
  }

  const end = offset + chunkWireLength(chunk.ciphertext.reduce((n, p) => n + p.length, 0));
  return new BackupError(
    'DAMAGED',
    `chunk ${index} (bytes ${offset} to ${end - 1}) is damaged: it does not authenticate`,
    offset,
  );
}
