import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { patternBase, patternCheck, patternSource } from '../bench/pattern';
import { decryptBackup, encryptBackup } from './backup-buffer';
import { createDecryptStream } from './decrypt-stream';
import { createEncryptStream } from './encrypt-stream';
import { DEFAULT_CHUNK_SIZE, HEADER, MIN_CHUNK_SIZE } from './format';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const OVERHEAD = 5 + 16;

/** Sizes around the chunk boundaries of the default 1 MiB chunks. */
const SIZES: [string, number][] = [
  ['0 bytes', 0],
  ['1 byte', 1],
  ['one chunk less one byte', DEFAULT_CHUNK_SIZE - 1],
  ['exactly one chunk', DEFAULT_CHUNK_SIZE],
  ['one chunk plus one byte', DEFAULT_CHUNK_SIZE + 1],
  ['exactly three chunks', 3 * DEFAULT_CHUNK_SIZE],
];

describe('backup round trips', () => {
  it.each(SIZES)('%s', async (_name, size) => {
    const plaintext = Buffer.alloc(size, 0x5a);
    const backup = await encryptBackup(KEY, plaintext);
    const chunks = Math.max(1, Math.ceil(size / DEFAULT_CHUNK_SIZE));

    expect(backup.length).toBe(HEADER.length + size + chunks * OVERHEAD);
    expect(Buffer.from(await decryptBackup(KEY, backup)).equals(plaintext)).toBe(true);
  });

  it('gives the same plaintext back whatever the pieces the streams are fed', async () => {
    const plaintext = Uint8Array.from(Buffer.from('x'.repeat(1000)));
    const backup = await encryptBackup(KEY, plaintext, { chunkSize: MIN_CHUNK_SIZE });

    // One byte at a time through both directions exercises every split of frames and tags.
    const bytewise = (data: Uint8Array) => Readable.from(Array.from(data, (b) => Buffer.of(b)));
    const out: Buffer[] = [];
    await pipeline(bytewise(backup), createDecryptStream(KEY), async (source) => {
      for await (const piece of source as AsyncIterable<Buffer>) out.push(piece);
    });
    expect(Buffer.concat(out).toString()).toBe('x'.repeat(1000));

    const again: Buffer[] = [];
    await pipeline(bytewise(plaintext), createEncryptStream(KEY, { chunkSize: 64 }), async (s) => {
      for await (const piece of s as AsyncIterable<Buffer>) again.push(piece);
    });
    expect(await decryptBackup(KEY, Buffer.concat(again))).toEqual(plaintext);
  });

  it('uses a fresh salt, so the same input never gives the same file', async () => {
    const a = await encryptBackup(KEY, new Uint8Array(10));
    const b = await encryptBackup(KEY, new Uint8Array(10));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it('refuses a chunk size outside 64 B to 16 MiB', () => {
    expect(() => createEncryptStream(KEY, { chunkSize: 63 })).toThrow(/chunk size/);
    expect(() => createEncryptStream(KEY, { chunkSize: 2 ** 24 + 1 })).toThrow(/chunk size/);
  });

  // 3 GiB through encryption and decryption in one pipeline: about 3 s on an idle machine, up
  // to 15 s with the rest of the suite beside it on two cores. Memory is measured in
  // backup-memory.test.ts, in a child process of its own.
  it('round-trips 3 GiB made on the fly, every byte checked, without the disk', async () => {
    const total = 3 * 1024 ** 3 + 12345;
    const base = patternBase();
    const check = patternCheck(base);
    await pipeline(
      patternSource(total, base),
      createEncryptStream(KEY),
      createDecryptStream(KEY),
      check,
    );
    expect(check.received()).toBe(total);
  });
});
