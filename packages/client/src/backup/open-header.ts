/**
 * Opening a backup's header with a key: the step that tells a wrong key apart from damage
 * before any payload is decrypted (docs/backup-format.md, "Reading").
 */
import { BackupError } from './backup-error';
import { constantTimeEqual, deriveFileKeys, headerMac, wipeFileKeys } from './file-keys';
import { HEADER, parseHeader } from './format';

/** What reading the chunks needs once the header has been accepted. */
export interface OpenedHeader {
  chunkSize: number;
  /** Secret: the per-file AES-256-GCM key. The caller wipes it once its cipher holds it. */
  payloadKey: Uint8Array;
}

/**
 * Checks the 97-byte header in order (layout and checksum, key check, MAC) and derives the
 * payload key.
 * @throws BackupError NOT_A_BACKUP, UNSUPPORTED_VERSION, DAMAGED (offset 0 or the field) or
 *   WRONG_KEY.
 */
export function openHeader(backupKey: Uint8Array, header: Uint8Array): OpenedHeader {
  if (header.length < HEADER.length) {
    throw new BackupError(
      'TRUNCATED',
      `the backup ends at byte ${header.length}, inside its header`,
      header.length,
    );
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
