/**
 * Backups in a browser (or any runtime with WebCrypto): the same format as the Node streams,
 * as async iterables of byte arrays, sealed with `crypto.subtle` AES-GCM. Only the cipher and
 * the driving loop differ; framing, header and failure diagnosis are the shared modules.
 *
 * In a browser, `ReadableStream` is async-iterable (`for await` over `file.stream()`), and the
 * output can be collected into a `Blob` or fed to a `ReadableStream` built from the iterator.
 */
import { systemRandom } from '../random';
import { ChunkReader, type SealedChunk } from './chunk-reader';
import { ChunkWriter, type PlainChunk } from './chunk-writer';
import { diagnoseChunk } from './diagnose-chunk';
import { openHeader, sealHeader } from './file-header';
import { chunkNonce, chunkSizeOption, TAG_LENGTH } from './format';

/** AES-256-GCM bound to one per-file key, answering asynchronously (as WebCrypto does). */
export interface AsyncChunkCipher {
  seal(
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: readonly Uint8Array[],
  ): Promise<{ ciphertext: Uint8Array[]; tag: Uint8Array }>;
  /** The plaintext pieces, or `undefined` when the tag does not verify. */
  open(
    nonce: Uint8Array,
    aad: Uint8Array,
    ciphertext: readonly Uint8Array[],
    tag: Uint8Array,
  ): Promise<Uint8Array[] | undefined>;
}

/** Input the iterables accept: any (async) iterable of byte arrays. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface WebEncryptOptions {
  /** Plaintext bytes per chunk, 64 B to 16 MiB; default 1 MiB. */
  chunkSize?: number;
  /** Random source for the per-file salt; injected only to make test vectors. */
  random?: (n: number) => Uint8Array;
  /** Cipher over the per-file payload key (WebCrypto by default); it must copy the key. */
  cipher?: (payloadKey: Uint8Array) => Promise<AsyncChunkCipher>;
}

export interface WebDecryptOptions {
  cipher?: (payloadKey: Uint8Array) => Promise<AsyncChunkCipher>;
}

/** The WebCrypto implementation. WebCrypto wants contiguous input, so pieces are joined. */
export async function webCryptoChunkCipher(
  payloadKey: Uint8Array,
  subtle: SubtleCrypto = globalThis.crypto.subtle,
): Promise<AsyncChunkCipher> {
  // The joined copy is wiped once WebCrypto holds the key (a non-extractable CryptoKey).
  const raw = join([payloadKey]);
  let key: CryptoKey;
  try {
    key = await subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  } finally {
    raw.fill(0);
  }
  const params = (nonce: Uint8Array, aad: Uint8Array) => ({
    name: 'AES-GCM',
    iv: join([nonce]),
    additionalData: join([aad]),
    tagLength: TAG_LENGTH * 8,
  });

  return {
    async seal(nonce, aad, plaintext) {
      const sealed = new Uint8Array(await subtle.encrypt(params(nonce, aad), key, join(plaintext)));
      const split = sealed.length - TAG_LENGTH;
      return { ciphertext: [sealed.subarray(0, split)], tag: sealed.subarray(split) };
    },
    async open(nonce, aad, ciphertext, tag) {
      try {
        const input = join([...ciphertext, tag]);
        return [new Uint8Array(await subtle.decrypt(params(nonce, aad), key, input))];
      } catch {
        // WebCrypto says only OperationError; the caller names the failure.
        return undefined;
      }
    },
  };
}

/** Encrypts `source` into backup format version 1, yielding the file's bytes in order. */
export async function* encryptBackupIterable(
  backupKey: Uint8Array,
  source: ByteSource,
  options: WebEncryptOptions = {},
): AsyncGenerator<Uint8Array> {
  const chunkSize = chunkSizeOption(options.chunkSize);
  const { header, payloadKey } = sealHeader(backupKey, chunkSize, options.random ?? systemRandom);
  const cipher = await (options.cipher ?? webCryptoChunkCipher)(payloadKey);
  payloadKey.fill(0);

  const seal = async (chunk: PlainChunk) => {
    const sealed = await cipher.seal(chunk.nonce, chunk.frame, chunk.plaintext);
    return [chunk.frame, ...sealed.ciphertext, sealed.tag];
  };
  yield header;
  const writer = new ChunkWriter(chunkSize);
  for await (const data of source) {
    writer.push(data);
    for (let chunk = writer.next(); chunk; chunk = writer.next()) yield* await seal(chunk);
  }
  yield* await seal(writer.finish());
}

/**
 * Decrypts a backup, yielding each chunk's plaintext once it verifies.
 * @throws BackupError naming what is wrong with the file, as the Node stream does.
 */
export async function* decryptBackupIterable(
  backupKey: Uint8Array,
  source: ByteSource,
  options: WebDecryptOptions = {},
): AsyncGenerator<Uint8Array> {
  const key = Uint8Array.from(backupKey);
  const reader = new ChunkReader();
  let cipher: AsyncChunkCipher | undefined;

  const open = async (chunk: SealedChunk) => {
    const c = cipher!;
    const nonce = chunkNonce(chunk.index, chunk.final);
    const plaintext = await c.open(nonce, chunk.frame, chunk.ciphertext, chunk.tag);
    if (plaintext !== undefined) return plaintext;
    throw await diagnoseChunk(chunk, async (sealed, other) => {
      const opened = await c.open(other, sealed.frame, sealed.ciphertext, sealed.tag);
      for (const piece of opened ?? []) piece.fill(0);
      return opened !== undefined;
    });
  };

  try {
    for await (const data of source) {
      reader.push(data);
      if (cipher === undefined) {
        const header = reader.takeHeader();
        if (header === undefined) continue;
        const opened = openHeader(key, header);
        reader.start(opened.chunkSize);
        cipher = await (options.cipher ?? webCryptoChunkCipher)(opened.payloadKey);
        opened.payloadKey.fill(0);
      }
      for (let chunk = reader.next(); chunk; chunk = reader.next()) yield* await open(chunk);
    }
    reader.end();
  } finally {
    key.fill(0);
  }
}

/** One contiguous copy of the pieces, on an ArrayBuffer of its own (what WebCrypto takes). */
function join(pieces: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(pieces.reduce((n, piece) => n + piece.length, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
