/**
 * The browser entry of `@bkv/client`: everything of the SDK that needs only `fetch` and
 * WebCrypto. Bundlers pick it through the `browser` condition of the package's exports.
 *
 * Left out are the Node stream modules of the backup format (`createEncryptStream`,
 * `createDecryptStream`, `encryptBackup`, `decryptBackup` and the node:crypto chunk cipher);
 * in a browser the same files are written and read by `encryptBackupIterable` and
 * `decryptBackupIterable`, whose bytes the Node streams read and write alike.
 */
export * from './backup-key';
export * from './random';
export * from './reexports';
export * from './vault-client';
export * from './recovery-key';
export * from './backup/backup-error';
export * from './backup/file-header';
export * from './backup/web-backup';
export {
  DEFAULT_CHUNK_SIZE,
  HEADER,
  MAX_CHUNK_SIZE,
  MAX_CHUNKS,
  MIN_CHUNK_SIZE,
  VERSION as BACKUP_FORMAT_VERSION,
} from './backup/format';
