/**
 * Encryption of a backup as a Node `Transform`: plaintext bytes in, backup file bytes out,
 * in constant memory (one chunk of plaintext is held until it is known whether more follows).
 */
import { randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { nodeChunkCipher, type ChunkCipher } from './chunk-cipher';
import { ChunkWriter, type PlainChunk } from './chunk-writer';
import { sealHeader } from './file-header';
import { chunkSizeOption } from './format';

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
  const chunkSize = chunkSizeOption(options.chunkSize);
  const { header, payloadKey } = sealHeader(backupKey, chunkSize, options.random ?? randomBytes);
  const cipher = (options.cipher ?? nodeChunkCipher)(payloadKey);
  payloadKey.fill(0);
  return new EncryptStream(header, new ChunkWriter(chunkSize), cipher);
}

class EncryptStream extends Transform {
  private headerSent = false;

  constructor(
    private readonly header: Uint8Array,
    private readonly writer: ChunkWriter,
    private readonly cipher: ChunkCipher,
  ) {
    super();
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.sendHeader();
      this.writer.push(data);
      for (let chunk = this.writer.next(); chunk; chunk = this.writer.next()) this.seal(chunk);
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.sendHeader();
      this.seal(this.writer.finish());
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

  /** Seals one chunk and pushes its frame, ciphertext pieces and tag without joining them. */
  private seal(chunk: PlainChunk): void {
    const sealed = this.cipher.seal(chunk.nonce, chunk.frame, chunk.plaintext);
    this.push(chunk.frame);
    for (const piece of sealed.ciphertext) this.push(piece);
    this.push(sealed.tag);
  }
}
