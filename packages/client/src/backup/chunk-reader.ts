/**
 * The reading side of the format without I/O or cipher: bytes go in as they arrive, the header
 * and then whole sealed chunks come out, each checked for a well-formed frame. Opening the
 * chunks is left to the caller (node:crypto in a stream, WebCrypto in a browser).
 */
import { BackupError } from './backup-error';
import { ByteQueue } from './byte-queue';
import { shortHeader } from './file-header';
import {
  chunkWireLength,
  decodeFrame,
  FRAME_LENGTH,
  HEADER,
  MAX_CHUNKS,
  TAG_LENGTH,
} from './format';

/** A chunk as read from the file, not yet authenticated. */
export interface SealedChunk {
  index: number;
  /** Byte offset of the chunk's frame in the file. */
  offset: number;
  final: boolean;
  /** The 5-byte frame: the chunk's AAD. */
  frame: Uint8Array;
  ciphertext: Uint8Array[];
  tag: Uint8Array;
}

export class ChunkReader {
  private readonly queue = new ByteQueue();
  private headerTaken = false;
  private chunkSize = 0;
  private pending: { bytes: Uint8Array; final: boolean; length: number } | undefined;
  private index = 0;
  /** File offset of the first byte not yet handed out (the pending frame's, if any). */
  private offset = 0;
  private finished = false;

  push(data: Uint8Array): void {
    this.queue.push(data);
  }

  /** The 97 header bytes, once all have arrived; then `start` with the accepted chunk size. */
  takeHeader(): Uint8Array | undefined {
    if (this.headerTaken || this.queue.length < HEADER.length) return undefined;
    this.headerTaken = true;
    this.offset = HEADER.length;
    return this.queue.takeBytes(HEADER.length);
  }

  start(chunkSize: number): void {
    this.chunkSize = chunkSize;
  }

  /**
   * The next whole chunk, or `undefined` until more bytes arrive. The caller must open each
   * chunk before asking for the next, and fail if it does not open.
   * @throws BackupError DAMAGED for a malformed frame, TRAILING_DATA after the final chunk.
   */
  next(): SealedChunk | undefined {
    if (this.finished) {
      if (this.queue.length === 0) return undefined;
      throw new BackupError(
        'TRAILING_DATA',
        `${this.queue.length}+ bytes follow the final chunk at byte ${this.offset}; ` +
          'everything before them is authentic',
        this.offset,
      );
    }
    if (this.pending === undefined) {
      if (this.queue.length < FRAME_LENGTH) return undefined;
      this.pending = this.readFrame(this.queue.takeBytes(FRAME_LENGTH));
    }
    const frame = this.pending;
    if (this.queue.length < frame.length + TAG_LENGTH) return undefined;

    const chunk: SealedChunk = {
      index: this.index,
      offset: this.offset,
      final: frame.final,
      frame: frame.bytes,
      ciphertext: this.queue.take(frame.length),
      tag: this.queue.takeBytes(TAG_LENGTH),
    };
    this.pending = undefined;
    this.offset += chunkWireLength(frame.length);
    this.index++;
    this.finished = frame.final;
    if (!this.finished && this.index >= MAX_CHUNKS) {
      throw new BackupError('DAMAGED', `no final chunk within ${MAX_CHUNKS} chunks`, this.offset);
    }
    return chunk;
  }

  /** At the end of the input. @throws BackupError unless the final chunk has been read. */
  end(): void {
    if (this.finished) return;
    if (!this.headerTaken) throw shortHeader(this.queue.takeBytes(this.queue.length));
    const end = this.offset + (this.pending === undefined ? 0 : FRAME_LENGTH) + this.queue.length;
    const inside = end > this.offset ? `inside chunk ${this.index}` : `before chunk ${this.index}`;
    throw new BackupError(
      'TRUNCATED',
      `the backup ends at byte ${end}, ${inside}: its final chunk is missing`,
      end,
    );
  }

  /** A frame must carry a known flag and the length its position allows. */
  private readFrame(bytes: Uint8Array): { bytes: Uint8Array; final: boolean; length: number } {
    const frame = decodeFrame(bytes);
    const where = `chunk ${this.index} at byte ${this.offset}`;
    if (frame === undefined) {
      throw new BackupError('DAMAGED', `${where} is damaged (unknown flag)`, this.offset);
    }
    const allowed = frame.final
      ? frame.length <= this.chunkSize && (frame.length > 0 || this.index === 0)
      : frame.length === this.chunkSize;
    if (!allowed) {
      throw new BackupError('DAMAGED', `${where} is damaged (impossible length)`, this.offset);
    }
    return { bytes, ...frame };
  }
}
