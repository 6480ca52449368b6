import { readFile } from 'node:fs/promises';
import { parseRecoveryKey } from '@bkv/client';

/** A key file holds the 64-digit form (as `bkv recover --out` writes it) or 32 raw bytes. */
export async function readKeyFile(file: string): Promise<Uint8Array> {
  const bytes = await readFile(file);
  if (bytes.length === 32) return new Uint8Array(bytes);
  return parseRecoveryKey(bytes.toString('utf8'));
}
