/**
 * The WebCrypto path (Node 20 has `globalThis.crypto.subtle`, as browsers do) against the same
 * vectors and the same damage as the Node streams, and against the streams themselves.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decryptBackup, encryptBackup } from './backup-buffer';
import { BackupError, type BackupErrorCode } from './backup-error';
import { HEADER } from './format';
import { decryptBackupIterable, encryptBackupIterable, webCryptoChunkCipher } from './web-backup';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i ^ 0x5c);
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
const hex = (data: Uint8Array) => Buffer.from(data).toString('hex');

async function collect(iterable: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for await (const piece of iterable) pieces.push(piece);
  return Uint8Array.from(Buffer.concat(pieces));
}

/** `data` fed in pieces of `size` bytes, to cross every boundary. */
function* inPieces(data: Uint8Array, size: number): Iterable<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

async function failure(backup: Uint8Array, key = KEY): Promise<[BackupErrorCode, number?]> {
  try {
    await collect(decryptBackupIterable(key, inPieces(backup, 7)));
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    return [error.code, error.offset];
  }
  throw new Error('the damaged backup decrypted');
}

describe('backups through WebCrypto', () => {
  const file = path.join(__dirname, '..', '..', 'vectors', 'backup-v1.json');
  const vectors = JSON.parse(readFileSync(file, 'utf8')) as {
    valid: { key: string; salt: string; chunkSize: number; plaintext: string; backup: string }[];
    damaged: { key: string; backup: string; error: string; offset: number }[];
  };

  it('reproduces and reads every valid vector', async () => {
    for (const v of vectors.valid) {
      const options = { chunkSize: v.chunkSize, random: () => bytes(v.salt) };
      const backup = await collect(
        encryptBackupIterable(bytes(v.key), [bytes(v.plaintext)], options),
      );
      expect(hex(backup)).toBe(v.backup);
      expect(hex(await collect(decryptBackupIterable(bytes(v.key), [backup])))).toBe(v.plaintext);
    }
    expect(vectors.valid).toHaveLength(7);
  });

  it('refuses every damaged vector with its code and offset', async () => {
    for (const v of vectors.damaged) {
      expect(await failure(bytes(v.backup), bytes(v.key))).toEqual([v.error, v.offset]);
    }
    expect(vectors.damaged).toHaveLength(8);
  });

  it('reads what the Node stream wrote, and the other way round', async () => {
    const plaintext = Uint8Array.from(Buffer.alloc(3 * 1024 + 17, 0xa7));
    const options = { chunkSize: 1024 };

    const fromNode = await encryptBackup(KEY, plaintext, options);
    expect(hex(await collect(decryptBackupIterable(KEY, inPieces(fromNode, 100))))).toBe(
      hex(plaintext),
    );
    const fromWeb = await collect(encryptBackupIterable(KEY, inPieces(plaintext, 333), options));
    expect(hex(await decryptBackup(KEY, fromWeb))).toBe(hex(plaintext));
  });

  it('names a wrong key, a swap, a cut and appended bytes as the stream does', async () => {
    const plaintext = Uint8Array.from(Buffer.alloc(4 * 64 - 10, 1));
    const backup = await collect(encryptBackupIterable(KEY, [plaintext], { chunkSize: 64 }));
    const at = (i: number) => HEADER.length + i * 85;
    const swapped = Buffer.concat([
      backup.subarray(0, at(1)),
      backup.subarray(at(2), at(3)),
      backup.subarray(at(1), at(2)),
      backup.subarray(at(3)),
    ]);

    expect(await failure(backup, new Uint8Array(32))).toEqual(['WRONG_KEY', 0]);
    expect(await failure(swapped)).toEqual(['OUT_OF_ORDER', at(1)]);
    expect(await failure(backup.subarray(0, at(3)))).toEqual(['TRUNCATED', at(3)]);
    expect(await failure(Buffer.concat([backup, Buffer.of(0)]))).toEqual([
      'TRAILING_DATA',
      backup.length,
    ]);
  });
});

describe('webCryptoChunkCipher', () => {
  it('wipes its joined copy of the payload key once WebCrypto holds the key', async () => {
    const payloadKey = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
    let imported: Uint8Array | undefined;
    const subtle = {
      importKey: (format: 'raw', raw: Uint8Array, ...rest: [string, boolean, KeyUsage[]]) => {
        imported = raw;
        // What WebCrypto keeps is its own: hand it a copy, as a real implementation does.
        return globalThis.crypto.subtle.importKey(format, Uint8Array.from(raw), ...rest);
      },
    } as unknown as SubtleCrypto;
    await webCryptoChunkCipher(payloadKey, subtle);
    expect(imported).toBeDefined();
    expect(imported).not.toBe(payloadKey);
    expect(imported!.every((byte) => byte === 0)).toBe(true);
    expect(payloadKey[0]).toBe(1);
  });
});
