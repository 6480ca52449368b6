/**
 * The keys of one backup file, all derived from the backup key `K` and the file's random salt,
 * so that no two files share a payload key and nonces can be a plain counter.
 */
import { extract, expand } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { HEADER, KEY_CHECK_LENGTH } from './format';

/** HKDF info labels of format version 1. */
export const FILE_KEY_LABELS = {
  payload: 'bkv backup v1 payload key',
  header: 'bkv backup v1 header key',
  keyCheck: 'bkv backup v1 key check',
} as const;

/** Secret per-file keys. The caller zeroes them with {@link wipeFileKeys} when done. */
export interface FileKeys {
  /** AES-256-GCM key of every chunk. */
  payloadKey: Uint8Array;
  /** HMAC-SHA256 key of the header. */
  headerKey: Uint8Array;
  /** Public value stored in the header; equal only when the key is right. */
  keyCheck: Uint8Array;
}

const encoder = new TextEncoder();

/** RFC 5869 §2.2 extract with the file salt, then §2.3 expand once per purpose. */
export function deriveFileKeys(backupKey: Uint8Array, salt: Uint8Array): FileKeys {
  if (backupKey.length !== 32) throw new RangeError('a backup key has 32 bytes');
  const prk = extract(sha256, backupKey, salt);
  const keys = {
    payloadKey: expand(sha256, prk, encoder.encode(FILE_KEY_LABELS.payload), 32),
    headerKey: expand(sha256, prk, encoder.encode(FILE_KEY_LABELS.header), 32),
    keyCheck: expand(sha256, prk, encoder.encode(FILE_KEY_LABELS.keyCheck), KEY_CHECK_LENGTH),
  };
  prk.fill(0);
  return keys;
}

/** HMAC-SHA256 of the header's first 65 bytes (everything before the MAC). */
export function headerMac(headerKey: Uint8Array, header: Uint8Array): Uint8Array {
  return hmac(sha256, headerKey, header.subarray(0, HEADER.mac));
}

/** Compares two byte strings without an early exit on the first difference. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

export function wipeFileKeys(keys: FileKeys): void {
  keys.payloadKey.fill(0);
  keys.headerKey.fill(0);
}
