/**
 * Decryption of a backup as a Node `Transform`: backup file bytes in, plaintext out. Each chunk
 * is released only after its tag verifies, and every way the file can be wrong ends the stream
 * with a {@link BackupError} whose code names it (docs/backup-format.md, "Reading").
 */
import { Transform, type TransformCallback } from 'node:stream';
import { BackupError } from './backup-error';
import { ByteQueue } from './byte-queue';
import { nodeChunkCipher, type ChunkCipher } from './chunk-cipher';
import { diagnoseChunk } from './diagnose-chunk';
import { openHeader } from './open-header';
import {
  chunkNonce,
  chunkWireLength,
  decodeFrame,
  FRAME_LENGTH,
  HEADER,
  MAGIC,
  MAX_CHUNKS,
  TAG_LENGTH,
} from './format';

export interface DecryptOptions {
  /** Cipher over the per-file payload key (node:crypto by default); it must copy the key. */
  cipher?: (payloadKey: Uint8Array) => ChunkCipher;
}

/**
 * Makes a stream that decrypts a backup written with the 32-byte backup key. Plaintext comes
 * out chunk by chunk as each one verifies, so a consumer that writes it to a file must discard
 * that file when the stream fails (the CLI writes to a temporary name and renames at the end).
 */
export function createDecryptStream(
  backupKey: Uint8Array,
  options: DecryptOptions = {},
): Transform {
  return new DecryptStream(Uint8Array.from(backupKey), options.cipher ?? nodeChunkCipher);
}

/** A chunk's frame, read ahead of its ciphertext. */
interface PendingFrame {
  bytes: Uint8Array;
  final: boolean;
  length: number;
}

class DecryptStream extends Transform {
  private readonly queue = new ByteQueue();
  private cipher: ChunkCipher | undefined;
  private frame: PendingFrame | undefined;
  private chunkSize = 0;
  private index = 0;
  /** File offset of the first byte in the queue (or of the pending frame, when there is one). */
  private offset = 0;
  private finished = false;

  constructor(
    private readonly backupKey: Uint8Array,
    private readonly makeCipher: (payloadKey: Uint8Array) => ChunkCipher,
  ) {
    super();
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.queue.push(data);
      this.process();
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.process();
      if (!this.finished) throw this.truncated();
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  /** Consumes as much of the queue as forms whole units: the header, frames, chunks. */
  private process(): void {
    if (this.cipher === undefined) {
      if (this.queue.length < HEADER.length) return;
      this.readHeader(this.queue.takeBytes(HEADER.length));
    }
    while (!this.finished && this.readChunk());
    if (this.finished && this.queue.length > 0) {
      throw new BackupError(
        'TRAILING_DATA',
        `${this.queue.length}+ bytes follow the final chunk at byte ${this.offset}; ` +
          'everything before them is authentic',
        this.offset,
      );
    }
  }

  /** Accepts the header (or fails naming why) and makes the chunk cipher. */
  private readHeader(header: Uint8Array): void {
    try {
      const opened = openHeader(this.backupKey, header);
      this.chunkSize = opened.chunkSize;
      this.cipher = this.makeCipher(opened.payloadKey);
      opened.payloadKey.fill(0);
      this.offset = HEADER.length;
    } finally {
      this.backupKey.fill(0);
    }
  }

  /** Reads the next frame and, once all its bytes are here, its chunk. False: wait for more. */
  private readChunk(): boolean {
    if (this.frame === undefined) {
      if (this.queue.length < FRAME_LENGTH) return false;
      this.frame = this.readFrame(this.queue.takeBytes(FRAME_LENGTH));
    }
    const frame = this.frame;
    if (this.queue.length < frame.length + TAG_LENGTH) return false;

    // Open with this position's nonce; on failure find out what the chunk is before failing.
    const ciphertext = this.queue.take(frame.length);
    const tag = this.queue.takeBytes(TAG_LENGTH);
    const nonce = chunkNonce(this.index, frame.final);
    const plaintext = this.cipher!.open(nonce, frame.bytes, ciphertext, tag);
    if (plaintext === undefined) {
      const chunk = { frame: frame.bytes, final: frame.final, ciphertext, tag };
      throw diagnoseChunk(this.cipher!, chunk, this.index, this.offset);
    }

    for (const piece of plaintext) this.push(piece);
    this.offset += chunkWireLength(frame.length);
    this.index++;
    this.frame = undefined;
    this.finished = frame.final;
    if (!this.finished && this.index >= MAX_CHUNKS) {
      throw new BackupError('DAMAGED', `no final chunk within ${MAX_CHUNKS} chunks`, this.offset);
    }
    return true;
  }

  /** A frame must carry a known flag and the length its position allows. */
  private readFrame(bytes: Uint8Array): PendingFrame {
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

  /** The error for an input that ended before the final chunk was complete. */
  private truncated(): BackupError {
    const pending = this.frame === undefined ? 0 : FRAME_LENGTH;
    const end = this.offset + pending + this.queue.length;
    if (this.cipher === undefined) {
      const head = this.queue.takeBytes(Math.min(this.queue.length, MAGIC.length));
      if (!head.every((byte, i) => byte === MAGIC[i])) {
        throw new BackupError('NOT_A_BACKUP', 'not a bkv backup file (its first bytes differ)', 0);
      }
      return new BackupError('TRUNCATED', `the backup ends at byte ${end}, inside its header`, end);
    }
    const inside = end > this.offset ? `inside chunk ${this.index}` : `before chunk ${this.index}`;
    return new BackupError(
      'TRUNCATED',
      `the backup ends at byte ${end}, ${inside}: its final chunk is missing`,
      end,
    );
  }
}
