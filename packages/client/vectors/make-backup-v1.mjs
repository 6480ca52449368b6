// @ts-check
/**
 * Writes `packages/client/vectors/backup-v1.json`, the test vectors of backup format version 1.
 *
 *   node packages/client/vectors/make-backup-v1.mjs
 *
 * A second implementation of docs/backup-format.md, written from the document and not from
 * `src/backup`: HKDF, HMAC, SHA-256 and AES-256-GCM all come from node:crypto here, where the
 * client uses noble for the header keys. Every input is derived from a label, so running it
 * again gives the same file. The test `src/backup/backup-vectors.test.ts` decrypts each valid
 * vector, encrypts it again with the same salt expecting the same bytes, and expects each
 * damaged vector to fail with the recorded code and offset.
 */
import { createCipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAGIC = Buffer.from([0x89, 0x42, 0x4b, 0x56, 0x0d, 0x0a, 0x1a, 0x0a]);
const HEADER_LENGTH = 97;

/** Deterministic bytes for a named input: SHA-256 in counter mode over a label. */
function fixed(/** @type {string} */ label, /** @type {number} */ length) {
  const out = [];
  for (let i = 0; out.length * 32 < length; i++) {
    out.push(createHash('sha256').update(`bkv backup v1 vectors ${label} ${i}`).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

/** docs/backup-format.md "Keys": HKDF-SHA256 with the salt, one info label per key. */
function fileKeys(/** @type {Buffer} */ key, /** @type {Buffer} */ salt) {
  const derive = (/** @type {string} */ info, /** @type {number} */ n) =>
    Buffer.from(hkdfSync('sha256', key, salt, info, n));
  return {
    payload: derive('bkv backup v1 payload key', 32),
    header: derive('bkv backup v1 header key', 32),
    check: derive('bkv backup v1 key check', 16),
  };
}

/** docs/backup-format.md "Header" and "Chunks". */
function encrypt(
  /** @type {Buffer} */ key,
  /** @type {Buffer} */ salt,
  /** @type {number} */ chunkSize,
  /** @type {Buffer} */ plaintext,
) {
  const keys = fileKeys(key, salt);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(chunkSize);
  const fields = Buffer.concat([MAGIC, Buffer.of(1), size, salt, keys.check]);
  const checksum = createHash('sha256').update(fields).digest().subarray(0, 4);
  const mac = createHmac('sha256', keys.header)
    .update(Buffer.concat([fields, checksum]))
    .digest();
  const parts = [fields, checksum, mac];

  const count = Math.max(1, Math.ceil(plaintext.length / chunkSize));
  for (let index = 0; index < count; index++) {
    const data = plaintext.subarray(index * chunkSize, (index + 1) * chunkSize);
    const final = index === count - 1 ? 1 : 0;
    const frame = Buffer.alloc(5);
    frame[0] = final;
    frame.writeUInt32BE(data.length, 1);
    const nonce = Buffer.alloc(12);
    nonce.writeUInt32BE(index, 7);
    nonce[11] = final;
    const cipher = createCipheriv('aes-256-gcm', keys.payload, nonce);
    cipher.setAAD(frame);
    parts.push(frame, cipher.update(data), cipher.final(), cipher.getAuthTag());
  }
  return Buffer.concat(parts);
}

const valid = [
  ['empty input', 64, 0],
  ['one byte', 64, 1],
  ['exactly one chunk', 64, 64],
  ['one chunk plus one byte', 64, 65],
  ['three chunks and a short final one', 64, 3 * 64 + 8],
  ['a short text in the default 1 MiB chunks', 1 << 20, 27],
  ['odd chunk size', 100, 250],
].map(([name, chunkSize, length]) => {
  const label = String(name);
  const key = fixed(`${label} key`, 32);
  const salt = fixed(`${label} salt`, 32);
  const plaintext = fixed(`${label} plaintext`, Number(length));
  const backup = encrypt(key, salt, Number(chunkSize), plaintext);
  return { name: label, key, salt, chunkSize: Number(chunkSize), plaintext, backup };
});

// Damaged files, each made from the three-chunk vector (chunks of 85 bytes in the file).
const base = valid[4];
if (base === undefined) throw new Error('vector list changed');
const chunkAt = (/** @type {number} */ i) => HEADER_LENGTH + i * 85;
const chunk = (/** @type {number} */ i) => base.backup.subarray(chunkAt(i), chunkAt(i + 1));
const flipped = (/** @type {number} */ offset) => {
  const copy = Buffer.from(base.backup);
  copy[offset] = (copy[offset] ?? 0) ^ 0x80;
  return copy;
};
const damaged = [
  ['wrong key', fixed('wrong key', 32), base.backup, 'WRONG_KEY', 0],
  ['bit flip in chunk 1', base.key, flipped(chunkAt(1) + 9), 'DAMAGED', chunkAt(1)],
  ['bit flip in the salt', base.key, flipped(20), 'DAMAGED', 0],
  [
    'chunks 1 and 2 swapped',
    base.key,
    Buffer.concat([base.backup.subarray(0, chunkAt(1)), chunk(2), chunk(1), chunk(3)]),
    'OUT_OF_ORDER',
    chunkAt(1),
  ],
  [
    'chunk 0 duplicated',
    base.key,
    Buffer.concat([
      base.backup.subarray(0, chunkAt(1)),
      chunk(0),
      base.backup.subarray(chunkAt(1)),
    ]),
    'DUPLICATE_CHUNK',
    chunkAt(1),
  ],
  ['final chunk missing', base.key, base.backup.subarray(0, chunkAt(3)), 'TRUNCATED', chunkAt(3)],
  [
    'bytes after the final chunk',
    base.key,
    Buffer.concat([base.backup, Buffer.from('\n')]),
    'TRAILING_DATA',
    base.backup.length,
  ],
  ['not a backup', base.key, Buffer.from('PK\x03\x04 a zip file'), 'NOT_A_BACKUP', 0],
].map(([name, key, backup, error, offset]) => ({ name, key, backup, error, offset }));

const hex = (/** @type {unknown} */ value) =>
  Buffer.isBuffer(value) ? value.toString('hex') : value;
const document = {
  format: 'bkv backup v1 (docs/backup-format.md)',
  generator: 'packages/client/vectors/make-backup-v1.mjs',
  valid: valid.map((v) => Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hex(x)]))),
  damaged: damaged.map((v) => Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hex(x)]))),
};
const target = fileURLToPath(new URL('./backup-v1.json', import.meta.url));
writeFileSync(target, JSON.stringify(document, null, 2) + '\n');
process.stdout.write(`wrote ${valid.length} valid and ${damaged.length} damaged vectors\n`);
