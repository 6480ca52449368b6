export * from './backup-buffer';
export * from './backup-error';
export * from './chunk-cipher';
export * from './decrypt-stream';
export * from './encrypt-stream';
export * from './file-header';
export * from './web-backup';
export {
  DEFAULT_CHUNK_SIZE,
  HEADER,
  MAX_CHUNK_SIZE,
  MAX_CHUNKS,
  MIN_CHUNK_SIZE,
  VERSION as BACKUP_FORMAT_VERSION,
} from './format';
