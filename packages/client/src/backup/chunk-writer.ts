/**
 * The writing side of the format without I/O or cipher: plaintext goes in as it arrives and
 * comes out cut into chunks with their frame and nonce, ready to seal. A full chunk is handed
 * out as "more" only once a byte beyond it has arrived; what is left at the end is the final
 * chunk (empty only for empty input).
 */
import { BackupError } from './backup-error';
import { ByteQueue } from './byte-queue';
import { chunkNonce, encodeFrame, MAX_CHUNKS } from './format';

/** A chunk's plaintext with what sealing it needs. */
export interface PlainChunk {
  nonce: Uint8Array;
  /** The 5-byte frame: written before the ciphertext, and the AAD. */
  frame: Uint8Array;
  plaintext: Uint8Array[];
}

export class ChunkWriter {
  private readonly queue = new ByteQueue();
  private index = 0;

  constructor(private readonly chunkSize: number) {}

  push(data: Uint8Array): void {
    this.queue.push(data);
  }

  /** The next full chunk that is known not to be the last, or `undefined`. */
  next(): PlainChunk | undefined {
    if (this.queue.length <= this.chunkSize) return undefined;
    return this.cut(false, this.chunkSize);
  }

  /** At the end of the input: the final chunk, with whatever is left. */
  finish(): PlainChunk {
    return this.cut(true, this.queue.length);
  }

  private cut(final: boolean, length: number): PlainChunk {
    if (this.index >= MAX_CHUNKS) {
      throw new BackupError('TOO_LARGE', `a backup holds at most ${MAX_CHUNKS} chunks`);
    }
    const chunk = {
      nonce: chunkNonce(this.index, final),
      frame: encodeFrame(final, length),
      plaintext: this.queue.take(length),
    };
    this.index++;
    return chunk;
  }
}
