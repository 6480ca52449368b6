/**
 * The byte layout of backup format version 1 (docs/backup-format.md): constants, the header,
 * each chunk's frame and nonce. Pure: no I/O, no randomness, no cipher; the streams build on it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { BackupError } from './backup-error';

/** PNG-style magic: a high-bit byte, the name, CR LF, ^Z and LF catch text-mode mangling. */
export const MAGIC = Uint8Array.from([0x89, 0x42, 0x4b, 0x56, 0x0d, 0x0a, 0x1a, 0x0a]);
export const VERSION = 1;

/** Plaintext bytes per chunk: the default, and the range a reader accepts. */
export const DEFAULT_CHUNK_SIZE = 1 << 20;
export const MIN_CHUNK_SIZE = 64;
export const MAX_CHUNK_SIZE = 1 << 24;

/** Chunk indices are 32-bit, so a file holds at most 2^32 chunks (4 PiB at 1 MiB). */
export const MAX_CHUNKS = 2 ** 32;

export const SALT_LENGTH = 32;
export const KEY_CHECK_LENGTH = 16;
export const CHECKSUM_LENGTH = 4;
export const HEADER_MAC_LENGTH = 32;
export const TAG_LENGTH = 16;

/** Field offsets in the header; the header is 97 bytes. */
export const HEADER = {
  version: 8,
  chunkSize: 9,
  salt: 13,
  keyCheck: 45,
  checksum: 61,
  mac: 65,
  length: 97,
} as const;

/** Each chunk starts with a flag byte and its plaintext length: 5 bytes, authenticated as AAD. */
export const FRAME_LENGTH = 5;
export const FLAG_MORE = 0x00;
export const FLAG_FINAL = 0x01;

/** The header fields a reader needs, once the header has been parsed. */
export interface HeaderFields {
  chunkSize: number;
  salt: Uint8Array;
  keyCheck: Uint8Array;
}

/** Bytes a chunk of `plaintextLength` takes in the file. */
export function chunkWireLength(plaintextLength: number): number {
  return FRAME_LENGTH + plaintextLength + TAG_LENGTH;
}

/** Checks a chunk size given by a caller or read from a header. */
export function isValidChunkSize(size: number): boolean {
  return Number.isInteger(size) && size >= MIN_CHUNK_SIZE && size <= MAX_CHUNK_SIZE;
}

/** A chunk size option, defaulted and checked. @throws BackupError INVALID_OPTIONS */
export function chunkSizeOption(chunkSize: number | undefined): number {
  const size = chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!isValidChunkSize(size)) {
    throw new BackupError(
      'INVALID_OPTIONS',
      `chunk size must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes`,
    );
  }
  return size;
}

/**
 * The header up to its checksum (61 bytes): magic, version, chunk size, salt and key check.
 * The caller appends the checksum over these bytes, then the MAC over all 65 bytes.
 */
export function headerPrefix(fields: HeaderFields): Uint8Array {
  const bytes = new Uint8Array(HEADER.mac);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  bytes[HEADER.version] = VERSION;
  view.setUint32(HEADER.chunkSize, fields.chunkSize);
  bytes.set(fields.salt, HEADER.salt);
  bytes.set(fields.keyCheck, HEADER.keyCheck);
  bytes.set(headerChecksum(bytes), HEADER.checksum);
  return bytes;
}

/** An unkeyed checksum of the header fields: damage there is told apart from a wrong key. */
export function headerChecksum(header: Uint8Array): Uint8Array {
  return sha256(header.subarray(0, HEADER.checksum)).subarray(0, CHECKSUM_LENGTH);
}

/**
 * Reads the header's fields in the order that names the failure best: magic, version,
 * checksum, chunk size. The key check and the MAC need the key and are checked by the caller.
 * @throws BackupError NOT_A_BACKUP, UNSUPPORTED_VERSION or DAMAGED (offset of the field).
 */
export function parseHeader(header: Uint8Array): HeaderFields {
  if (!MAGIC.every((byte, i) => header[i] === byte)) {
    throw new BackupError('NOT_A_BACKUP', 'not a bkv backup file (its first bytes differ)', 0);
  }
  if (header[HEADER.version] !== VERSION) {
    const version = header[HEADER.version] ?? -1;
    throw new BackupError(
      'UNSUPPORTED_VERSION',
      `backup format version ${version} is not supported (this program reads version ${VERSION})`,
      HEADER.version,
    );
  }

  // A flipped bit in the salt or the key check would otherwise read as a wrong key.
  const expected = headerChecksum(header);
  const stored = header.subarray(HEADER.checksum, HEADER.mac);
  if (!expected.every((byte, i) => stored[i] === byte)) {
    throw new BackupError('DAMAGED', 'the backup header is damaged (checksum mismatch)', 0);
  }

  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const chunkSize = view.getUint32(HEADER.chunkSize);
  if (!isValidChunkSize(chunkSize)) {
    throw new BackupError('DAMAGED', `the header's chunk size ${chunkSize} is out of range`, 9);
  }
  return {
    chunkSize,
    salt: header.slice(HEADER.salt, HEADER.keyCheck),
    keyCheck: header.slice(HEADER.keyCheck, HEADER.checksum),
  };
}

/** The 5-byte frame of a chunk: its flag and its plaintext length, big-endian. */
export function encodeFrame(final: boolean, length: number): Uint8Array {
  const frame = new Uint8Array(FRAME_LENGTH);
  frame[0] = final ? FLAG_FINAL : FLAG_MORE;
  new DataView(frame.buffer).setUint32(1, length);
  return frame;
}

/** A frame as read from the file; `undefined` fields mean it is not well formed. */
export function decodeFrame(frame: Uint8Array): { final: boolean; length: number } | undefined {
  const flag = frame[0];
  if (flag !== FLAG_MORE && flag !== FLAG_FINAL) return undefined;
  const length = new DataView(frame.buffer, frame.byteOffset, FRAME_LENGTH).getUint32(1);
  return { final: flag === FLAG_FINAL, length };
}

/**
 * The nonce of chunk `index`: 7 zero bytes, the index as 4 bytes big-endian and the final flag,
 * as in age's STREAM (an 11-byte counter and a last-chunk byte). The key is per file, so the
 * counter alone makes every nonce unique; the flag makes "final" impossible to forge.
 */
export function chunkNonce(index: number, final: boolean): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setUint32(7, index);
  nonce[11] = final ? FLAG_FINAL : FLAG_MORE;
  return nonce;
}
