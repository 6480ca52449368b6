/**
 * Making and opening a backup's 97-byte header (docs/backup-format.md, "Header", "Keys" and
 * "Reading"). Opening is the step that tells a wrong key apart from damage before any payload
 * is decrypted.
 */
import { BackupError } from './backup-error';
import { constantTimeEqual, deriveFileKeys, headerMac, wipeFileKeys } from './file-keys';
import { HEADER, headerPrefix, MAGIC, parseHeader, SALT_LENGTH } from './format';

/** A header and the secret payload key it commits to. The caller wipes `payloadKey`. */
export interface SealedHeader {
  header: Uint8Array;
  payloadKey: Uint8Array;
}

/** What reading the chunks needs once the header has been accepted. */
export interface OpenedHeader {
  chunkSize: number;
  /** Secret: the per-file AES-256-GCM key. The caller wipes it once its cipher holds it. */
  payloadKey: Uint8Array;
}

/** Draws a salt, derives the file's keys and writes the header with its key check and MAC. */
export function sealHeader(
  backupKey: Uint8Array,
  chunkSize: number,
  random: (n: number) => Uint8Array,
): SealedHeader {
  const salt = Uint8Array.from(random(SALT_LENGTH));
  const keys = deriveFileKeys(backupKey, salt);
  const prefix = headerPrefix({ chunkSize, salt, keyCheck: keys.keyCheck });
  const header = new Uint8Array(HEADER.length);
  header.set(prefix, 0);
  header.set(headerMac(keys.headerKey, prefix), HEADER.mac);
  const payloadKey = Uint8Array.from(keys.payloadKey);
  wipeFileKeys(keys);
  return { header, payloadKey };
}

/**
 * Checks the 97-byte header in order (layout and checksum, key check, MAC) and derives the
 * payload key.
 * @throws BackupError NOT_A_BACKUP, UNSUPPORTED_VERSION, TRUNCATED, DAMAGED (offset 0 or the
 *   field) or WRONG_KEY.
 */
export function openHeader(backupKey: Uint8Array, header: Uint8Array): OpenedHeader {
  if (header.length < HEADER.length) {
    throw shortHeader(header);
  }
  const fields = parseHeader(header);
  const keys = deriveFileKeys(backupKey, fields.salt);
  try {
    if (!constantTimeEqual(keys.keyCheck, fields.keyCheck)) {
      throw new BackupError('WRONG_KEY', 'this backup was made with a different key', 0);
    }
    const mac = header.subarray(HEADER.mac, HEADER.length);
    if (!constantTimeEqual(headerMac(keys.headerKey, header), mac)) {
      throw new BackupError('DAMAGED', 'the backup header was altered (MAC mismatch)', 0);
    }
    return { chunkSize: fields.chunkSize, payloadKey: Uint8Array.from(keys.payloadKey) };
  } finally {
    wipeFileKeys(keys);
  }
}

/** The error for input that ended inside the header: not a backup at all, or cut short. */
export function shortHeader(bytes: Uint8Array): BackupError {
  if (!bytes.subarray(0, MAGIC.length).every((byte, i) => byte === MAGIC[i])) {
    return new BackupError('NOT_A_BACKUP', 'not a bkv backup file (its first bytes differ)', 0);
  }
  const end = bytes.length;
  return new BackupError('TRUNCATED', `the backup ends at byte ${end}, inside its header`, end);
}
