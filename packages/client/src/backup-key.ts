/** The backup key `K` (docs/protocol.md, "Roles and terms"). */
import { drawRandom, LENGTHS, type RandomSource } from '@bkv/protocol';
import { systemRandom } from './random';

/**
 * Makes a new 32-byte backup key from the CSPRNG. The key encrypts the user's backups and
 * never reaches the vault in the clear; it is secret, so keep it only as long as needed.
 */
export function generateBackupKey(random: RandomSource = systemRandom): Uint8Array {
  return drawRandom(random, LENGTHS.backupKey);
}
