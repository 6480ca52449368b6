/**
 * Why a backup file could not be written or read. Each way a file can go wrong has its own
 * stable code, so that a program (and the CLI's exit code) can tell a wrong key from a damaged
 * disk from a copy that stopped early. Messages are for people and may change.
 */

/** Stable codes of backup file failures (docs/backup-format.md, "Errors"). */
export const BACKUP_ERROR_CODES = [
  /** The input does not start with the backup magic: not a bkv backup at all. */
  'NOT_A_BACKUP',
  /** A backup of a format version this code does not read. */
  'UNSUPPORTED_VERSION',
  /** The header is intact but was made with another key. Nothing was decrypted. */
  'WRONG_KEY',
  /** Bytes were changed: a chunk or the header does not authenticate. `offset` says where. */
  'DAMAGED',
  /** A chunk of this file sits later than where it belongs: chunks reordered or removed. */
  'OUT_OF_ORDER',
  /** A chunk of this file appears again where a later one belongs. */
  'DUPLICATE_CHUNK',
  /** The file ends before its final chunk: a copy or download stopped early. */
  'TRUNCATED',
  /** Bytes follow the final chunk. Everything before them was authentic. */
  'TRAILING_DATA',
  /** The input is longer than the format can hold, or an option is out of range. */
  'TOO_LARGE',
  'INVALID_OPTIONS',
] as const;

export type BackupErrorCode = (typeof BACKUP_ERROR_CODES)[number];

/** A failure to write or read a backup file. Branch on `code`; `offset` locates damage. */
export class BackupError extends Error {
  readonly code: BackupErrorCode;
  /** Byte offset in the backup file where the problem starts, when it has one. */
  readonly offset: number | undefined;

  constructor(code: BackupErrorCode, message: string, offset?: number) {
    super(message);
    this.name = 'BackupError';
    this.code = code;
    this.offset = offset;
  }
}
