/**
 * Whole-buffer helpers over the streams, for small inputs (test vectors, key files, tests).
 * Large inputs belong in the streams: these hold the whole input and output in memory.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Transform } from 'node:stream';
import { createDecryptStream, type DecryptOptions } from './decrypt-stream';
import { createEncryptStream, type EncryptOptions } from './encrypt-stream';

/** Encrypts `plaintext` into a complete backup file. */
export async function encryptBackup(
  backupKey: Uint8Array,
  plaintext: Uint8Array,
  options: EncryptOptions = {},
): Promise<Uint8Array> {
  return run(createEncryptStream(backupKey, options), plaintext);
}

/** Decrypts a complete backup file. @throws BackupError naming what is wrong with it. */
export async function decryptBackup(
  backupKey: Uint8Array,
  backup: Uint8Array,
  options: DecryptOptions = {},
): Promise<Uint8Array> {
  return run(createDecryptStream(backupKey, options), backup);
}

async function run(transform: Transform, input: Uint8Array): Promise<Uint8Array> {
  const output: Buffer[] = [];
  await pipeline(
    Readable.from([Buffer.from(input.buffer, input.byteOffset, input.length)]),
    transform,
    async (source) => {
      for await (const piece of source as AsyncIterable<Buffer>) output.push(piece);
    },
  );
  return Buffer.concat(output);
}
