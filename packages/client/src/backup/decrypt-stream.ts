/**
 * Decryption of a backup as a Node `Transform`: backup file bytes in, plaintext out. Each chunk
 * is released only after its tag verifies, and every way the file can be wrong ends the stream
 * with a {@link BackupError} whose code names it (docs/backup-format.md, "Reading").
 */
import { Transform, type TransformCallback } from 'node:stream';
import { nodeChunkCipher, type ChunkCipher } from './chunk-cipher';
import { ChunkReader, type SealedChunk } from './chunk-reader';
import { diagnoseChunkSync } from './diagnose-chunk';
import { openHeader } from './file-header';
import { chunkNonce } from './format';

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

class DecryptStream extends Transform {
  private readonly reader = new ChunkReader();
  private cipher: ChunkCipher | undefined;

  constructor(
    private readonly backupKey: Uint8Array,
    private readonly makeCipher: (payloadKey: Uint8Array) => ChunkCipher,
  ) {
    super();
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.reader.push(data);
      this.process();
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.process();
      this.reader.end();
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  /** A stream that ends or is torn down before its header came leaves no copy of the key. */
  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.backupKey.fill(0);
    done(error);
  }

  /** Accepts the header once it is here, then opens every whole chunk the reader has. */
  private process(): void {
    if (this.cipher === undefined) {
      const header = this.reader.takeHeader();
      if (header === undefined) return;
      this.cipher = this.accept(header);
    }
    for (let chunk = this.reader.next(); chunk; chunk = this.reader.next()) this.open(chunk);
  }

  /** Checks the header (wrong key, damage) and makes the chunk cipher; wipes the backup key. */
  private accept(header: Uint8Array): ChunkCipher {
    try {
      const opened = openHeader(this.backupKey, header);
      this.reader.start(opened.chunkSize);
      const cipher = this.makeCipher(opened.payloadKey);
      opened.payloadKey.fill(0);
      return cipher;
    } finally {
      this.backupKey.fill(0);
    }
  }

  /** Opens one chunk with its position's nonce; on failure names what the chunk is. */
  private open(chunk: SealedChunk): void {
    const cipher = this.cipher!;
    const nonce = chunkNonce(chunk.index, chunk.final);
    const plaintext = cipher.open(nonce, chunk.frame, chunk.ciphertext, chunk.tag);
    if (plaintext === undefined) {
      throw diagnoseChunkSync(chunk, (c, other) => {
        const opened = cipher.open(other, c.frame, c.ciphertext, c.tag);
        for (const piece of opened ?? []) piece.fill(0);
        return opened !== undefined;
      });
    }
    for (const piece of plaintext) this.push(piece);
  }
}
