import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError, type BackupErrorCode } from './backup-error';
import { decryptBackup, encryptBackup } from './backup-buffer';
import { createDecryptStream } from './decrypt-stream';
import { HEADER, headerChecksum } from './format';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const OTHER_KEY = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
const CHUNK = 64;
/** Bytes of one full chunk in the file: frame, ciphertext, tag. */
const WIRE = 5 + CHUNK + 16;
/** Where chunk `i` starts. */
const at = (i: number) => HEADER.length + i * WIRE;

/** 3.5 chunks: three full chunks and a short final one (32 bytes). */
const PLAINTEXT = Buffer.from(Array.from({ length: 3 * CHUNK + 32 }, (_, i) => i & 0xff));
let backup: Buffer;

beforeAll(async () => {
  backup = Buffer.from(await encryptBackup(KEY, PLAINTEXT, { chunkSize: CHUNK }));
});

const chunk = (i: number) => backup.subarray(at(i), Math.min(at(i + 1), backup.length));
const flip = (offset: number) => {
  const copy = Buffer.from(backup);
  copy[offset]! ^= 0x01;
  return copy;
};

/** Decrypts and returns the error's code and offset; fails the test if decryption succeeds. */
async function failure(file: Uint8Array, key = KEY): Promise<[BackupErrorCode, number?]> {
  try {
    await decryptBackup(key, file);
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    return error.offset === undefined ? [error.code] : [error.code, error.offset];
  }
  throw new Error('the damaged backup decrypted');
}

describe('each kind of damage is detected with its own error', () => {
  const cases: [string, () => Buffer, BackupErrorCode, () => number][] = [
    ['a bit flip in a ciphertext', () => flip(at(1) + 20), 'DAMAGED', () => at(1)],
    ['a bit flip in a tag', () => flip(at(2) - 1), 'DAMAGED', () => at(1)],
    ['a bit flip in the final chunk', () => flip(backup.length - 20), 'DAMAGED', () => at(3)],
    ['a bit flip in a frame flag', () => flip(at(2)), 'DAMAGED', () => at(2)],
    ['a bit flip in a frame length', () => flip(at(2) + 4), 'DAMAGED', () => at(2)],
    ['a bit flip in the salt', () => flip(HEADER.salt + 3), 'DAMAGED', () => 0],
    ['a bit flip in the key check', () => flip(HEADER.keyCheck), 'DAMAGED', () => 0],
    ['a bit flip in the header MAC', () => flip(HEADER.mac + 31), 'DAMAGED', () => 0],
    [
      'two chunks swapped',
      () => Buffer.concat([backup.subarray(0, at(1)), chunk(2), chunk(1), backup.subarray(at(3))]),
      'OUT_OF_ORDER',
      () => at(1),
    ],
    [
      'a chunk removed',
      () => Buffer.concat([backup.subarray(0, at(1)), backup.subarray(at(2))]),
      'OUT_OF_ORDER',
      () => at(1),
    ],
    [
      'a chunk duplicated',
      () => Buffer.concat([backup.subarray(0, at(2)), chunk(1), backup.subarray(at(2))]),
      'DUPLICATE_CHUNK',
      () => at(2),
    ],
    ['the final chunk cut off', () => backup.subarray(0, at(3)), 'TRUNCATED', () => at(3)],
    ['a cut inside a chunk', () => backup.subarray(0, at(2) + 7), 'TRUNCATED', () => at(2) + 7],
    ['a cut inside a frame', () => backup.subarray(0, at(2) + 2), 'TRUNCATED', () => at(2) + 2],
    ['a cut inside the header', () => backup.subarray(0, 50), 'TRUNCATED', () => 50],
    [
      'bytes appended',
      () => Buffer.concat([backup, Buffer.from('more')]),
      'TRAILING_DATA',
      () => backup.length,
    ],
    [
      'a whole chunk appended after the final one',
      () => Buffer.concat([backup, chunk(0)]),
      'TRAILING_DATA',
      () => backup.length,
    ],
  ];

  it.each(cases)('%s', async (_name, damage, code, offset) => {
    expect(await failure(damage())).toEqual([code, offset()]);
  });

  it('refuses a forged final flag on the last full chunk of a truncated file', async () => {
    const cut = Buffer.from(backup.subarray(0, at(3)));
    cut[at(2)] = 0x01;
    expect(await failure(cut)).toEqual(['DAMAGED', at(2)]);
  });

  it('refuses a header whose fields were changed with a matching checksum', async () => {
    const forged = Buffer.from(backup);
    forged.writeUInt32BE(128, HEADER.chunkSize);
    forged.set(headerChecksum(forged), HEADER.checksum);
    expect(await failure(forged)).toEqual(['DAMAGED', 0]);
  });

  it('tells a file that is not a backup, and a version it does not read', async () => {
    expect(await failure(Buffer.from('hello, world'))).toEqual(['NOT_A_BACKUP', 0]);
    expect(await failure(Buffer.alloc(0))).toEqual(['TRUNCATED', 0]);
    const v2 = Buffer.from(backup);
    v2[HEADER.version] = 2;
    expect(await failure(v2)).toEqual(['UNSUPPORTED_VERSION', HEADER.version]);
  });
});

describe('a wrong key', () => {
  it('is told from the header, before any chunk is decrypted', async () => {
    // Every chunk is damaged too: only the header can have given the answer.
    const file = Buffer.from(backup);
    for (let i = 0; i < 4; i++) file[at(i) + 10]! ^= 0xff;
    expect(await failure(file, OTHER_KEY)).toEqual(['WRONG_KEY', 0]);
  });

  it('lets no plaintext out', async () => {
    const out: Buffer[] = [];
    const run = pipeline(Readable.from([backup]), createDecryptStream(OTHER_KEY), async (s) => {
      for await (const piece of s as AsyncIterable<Buffer>) out.push(piece);
    });
    await expect(run).rejects.toThrow('this backup was made with a different key');
    expect(out).toHaveLength(0);
  });
});

describe('plaintext release', () => {
  // Chunks already pushed may still be dropped by the stream when it fails; what does come out
  // is always a prefix of the authentic chunks before the damage.
  it('releases nothing of a damaged chunk or after it', async () => {
    const out: Buffer[] = [];
    const file = flip(at(2) + 20);
    const run = pipeline(Readable.from([file]), createDecryptStream(KEY), async (s) => {
      for await (const piece of s as AsyncIterable<Buffer>) out.push(piece);
    });
    await expect(run).rejects.toThrow(/chunk 2 .* is damaged/);
    const released = Buffer.concat(out);
    expect(released.length).toBeLessThanOrEqual(2 * CHUNK);
    expect(released.equals(PLAINTEXT.subarray(0, released.length))).toBe(true);
  });
});

describe('the key copy of a decrypt stream', () => {
  /** The stream's own copy of the backup key (a private field: nothing else shows it). */
  const copyOf = (stream: unknown) => (stream as { backupKey: Uint8Array }).backupKey;

  it('is wiped when the input ends before a whole header', async () => {
    const stream = createDecryptStream(KEY);
    expect(copyOf(stream)).toEqual(KEY);
    const run = pipeline(Readable.from([backup.subarray(0, 40)]), stream, async (s) => {
      for await (const _ of s as AsyncIterable<Buffer>);
    });
    await expect(run).rejects.toThrow(BackupError);
    expect(copyOf(stream).every((byte) => byte === 0)).toBe(true);
  });

  it('is wiped when the stream is torn down before its header came', () => {
    const stream = createDecryptStream(KEY);
    stream.destroy();
    expect(copyOf(stream).every((byte) => byte === 0)).toBe(true);
    expect(KEY.some((byte) => byte !== 0)).toBe(true);
  });
});
