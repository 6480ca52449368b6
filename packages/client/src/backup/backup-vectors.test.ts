import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BackupError } from './backup-error';
import { decryptBackup, encryptBackup } from './backup-buffer';

/** Vectors made by packages/client/vectors/make-backup-v1.mjs, a second implementation. */
interface Vectors {
  valid: {
    name: string;
    key: string;
    salt: string;
    chunkSize: number;
    plaintext: string;
    backup: string;
  }[];
  damaged: { name: string; key: string; backup: string; error: string; offset: number }[];
}

const file = path.join(__dirname, '..', '..', 'vectors', 'backup-v1.json');
const vectors = JSON.parse(readFileSync(file, 'utf8')) as Vectors;
const bytes = (hex: string) => Buffer.from(hex, 'hex');

describe('backup format v1 test vectors', () => {
  it('has the vectors the generator writes', () => {
    expect(vectors.valid).toHaveLength(7);
    expect(vectors.damaged).toHaveLength(8);
  });

  it.each(vectors.valid.map((v) => [v.name, v] as const))('decrypts %s', async (_name, v) => {
    const plaintext = await decryptBackup(bytes(v.key), bytes(v.backup));
    expect(Buffer.from(plaintext).toString('hex')).toBe(v.plaintext);
  });

  it.each(vectors.valid.map((v) => [v.name, v] as const))(
    'encrypts %s to the same bytes given the same salt',
    async (_name, v) => {
      const random = () => bytes(v.salt);
      const backup = await encryptBackup(bytes(v.key), bytes(v.plaintext), {
        chunkSize: v.chunkSize,
        random,
      });
      expect(Buffer.from(backup).toString('hex')).toBe(v.backup);
    },
  );

  it.each(vectors.damaged.map((v) => [v.name, v] as const))('refuses %s', async (_name, v) => {
    const error = await decryptBackup(bytes(v.key), bytes(v.backup)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BackupError);
    expect([(error as BackupError).code, (error as BackupError).offset]).toEqual([
      v.error,
      v.offset,
    ]);
  });
});
