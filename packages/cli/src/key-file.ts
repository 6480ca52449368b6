import { open, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { parseRecoveryKey } from '@bkv/client';
import { UsageError } from './passphrase';

/** A key file holds the 64-digit form (as `bkv recover --out` writes it) or 32 raw bytes. */
export async function readKeyFile(file: string): Promise<Uint8Array> {
  const bytes = await readFile(file);
  if (bytes.length === 32) return new Uint8Array(bytes);
  return parseRecoveryKey(bytes.toString('utf8'));
}

/**
 * A new file that only its owner can read, made before the work whose secret it will hold, so
 * that a name already taken, a missing folder or a refused permission stops the command
 * before anything changes in the vault. `write` fills and closes it; `discard` removes it.
 * On a failed write the partial file is removed too.
 */
export interface SecretFile {
  write(text: string): Promise<void>;
  discard(): Promise<void>;
}

export async function createSecretFile(file: string): Promise<SecretFile> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UsageError(`${file} exists; choose another file`);
    }
    throw err;
  }
  const discard = async () => {
    await handle.close().catch(() => undefined);
    await unlink(file).catch(() => undefined);
  };
  return {
    async write(text) {
      try {
        await handle.writeFile(text);
        await handle.close();
      } catch (err) {
        await discard();
        throw err;
      }
    },
    discard,
  };
}

/** Runs `work`; if it fails, the file made for its result is removed again. */
export async function discardOnFailure<T>(
  file: SecretFile | undefined,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (err) {
    await file?.discard();
    throw err;
  }
}

/** Writes a secret to a new file that only its owner can read. */
export async function writeSecretFile(file: string, text: string): Promise<void> {
  await (await createSecretFile(file)).write(text);
}
