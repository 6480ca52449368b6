/** What an app needs from `@bkv/protocol` to use the client, so it imports one package. */
export { BkvError, ERROR_CODES, isErrorCode, DEFAULT_KDF } from '@bkv/protocol';
export type {
  ErrorCode,
  ErrorDetails,
  Kdf,
  RandomSource,
  RealmResponse,
  RecordResponse,
} from '@bkv/protocol';
