/**
 * Encryption of a backup as a Node `Transform`: plaintext bytes in, backup file bytes out,
 * in constant memory (one chunk of plaintext is held until it is known whether more follows).
 */
import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BackupError } from './backup-error';
import { ByteQueue } from './byte-queue';
import { nodeChunkCipher, type ChunkCipher } from './chunk-cipher';
import { deriveFileKeys, headerMac, wipeFileKeys } from './file-keys';
import {
  chunkNonce,
  DEFAULT_CHUNK_SIZE,
  encodeFrame,
  HEADER,
  headerPrefix,
  isValidChunkSize,
  MAX_CHUNK_SIZE,
  MAX_CHUNKS,
  MIN_CHUNK_SIZE,
  SALT_LENGTH,
} from './format';

export interface EncryptOptions {
  /** Plaintext bytes per chunk, 64 B to 16 MiB; default 1 MiB. */
  chunkSize?: number;
  /** Random source for the per-file salt; injected only to make test vectors. */
  random?: (n: number) => Uint8Array;
  /** Cipher over the per-file payload key (node:crypto by default); it must copy the key. */
  cipher?: (payloadKey: Uint8Array) => ChunkCipher;
}

/**
 * Makes a stream that encrypts everything written to it with the 32-byte backup key, in
 * backup format version 1. The key is not kept: per-file keys are derived at once.
 * @throws BackupError INVALID_OPTIONS for a chunk size out of range; the stream fails with
 *   TOO_LARGE past 2^32 chunks.
 */
export function createEncryptStream(
  backupKey: Uint8Array,
  options: EncryptOptions = {},
): Transform {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!isValidChunkSize(chunkSize)) {
    throw new BackupError(
      'INVALID_OPTIONS',
      `chunk size must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes`,
    );
  }

  // The header: a fresh salt, the per-file keys it gives, the key check and the header MAC.
  const salt = Uint8Array.from((options.random ?? randomBytes)(SALT_LENGTH));
  const keys = deriveFileKeys(backupKey, salt);
  const prefix = headerPrefix({ chunkSize, salt, keyCheck: keys.keyCheck });
  const header = new Uint8Array(HEADER.length);
  header.set(prefix, 0);
  header.set(headerMac(keys.headerKey, prefix), HEADER.mac);
  const cipher = (options.cipher ?? nodeChunkCipher)(keys.payloadKey);
  wipeFileKeys(keys);

  return new EncryptStream(header, chunkSize, cipher);
}

class EncryptStream extends Transform {
  private readonly queue = new ByteQueue();
  private index = 0;
  private headerSent = false;

  constructor(
    private readonly header: Uint8Array,
    private readonly chunkSize: number,
    private readonly cipher: ChunkCipher,
  ) {
    super();
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.sendHeader();
      this.queue.push(data);

      // A full chunk is sealed as "more" only once a byte beyond it has arrived.
      while (this.queue.length > this.chunkSize) this.seal(false, this.chunkSize);
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      // What is left (0 to chunkSize bytes) is the final chunk; it is empty only for an empty
      // input, because a full chunk is never sealed as "more" without a byte after it.
      this.sendHeader();
      this.seal(true, this.queue.length);
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  private sendHeader(): void {
    if (this.headerSent) return;
    this.push(this.header);
    this.headerSent = true;
  }

  /** Seals the next `length` bytes as chunk `index` and pushes frame, ciphertext and tag. */
  private seal(final: boolean, length: number): void {
    if (this.index >= MAX_CHUNKS) {
      throw new BackupError('TOO_LARGE', `a backup holds at most ${MAX_CHUNKS} chunks`);
    }
    const frame = encodeFrame(final, length);
    const sealed = this.cipher.seal(chunkNonce(this.index, final), frame, this.queue.take(length));
    this.push(frame);
    for (const piece of sealed.ciphertext) this.push(piece);
    this.push(sealed.tag);
    this.index++;
  }
}
