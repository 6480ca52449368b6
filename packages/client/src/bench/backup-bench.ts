/**
 * Backup encryption and decryption throughput beside raw AES-256-GCM of node:crypto, measured
 * in the same run on the same bytes, and peak memory of a 100 MiB and a 4 GiB encryption.
 *
 *   pnpm --filter @bkv/client run bench      (after `pnpm run build`)
 *
 * The target is a ratio of at least 0.8 of raw in both directions. Inputs arrive as 64 KiB
 * pieces of one random buffer held in memory (what a file read gives), so that neither side
 * pays for making data; outputs go to a sink that only counts.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecryptStream } from '../backup/decrypt-stream';
import { createEncryptStream } from '../backup/encrypt-stream';
import { decryptBackupIterable, encryptBackupIterable } from '../backup/web-backup';
import { countingSink } from './pattern';

const MiB = 1 << 20;
const PIECE = 64 * 1024;
const TOTAL = 1024 * MiB;
const ROUNDS = 5;

/** `total` bytes as 64 KiB views of `data`, repeated. */
function pieces(data: Buffer, total: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < total; at += PIECE) {
    const from = at % data.length;
    out.push(data.subarray(from, from + Math.min(PIECE, total - at, data.length - from)));
  }
  return out;
}

/** Seconds one run takes. */
async function time(run: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * Best MB/s of plaintext for each contender, over `ROUNDS` rounds in which they take turns,
 * so that a busy moment of the machine hits both alike.
 */
async function race(
  contenders: Record<string, () => Promise<void>>,
): Promise<Record<string, number>> {
  const fastest: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(contenders)) {
      fastest[name] = Math.min(fastest[name] ?? Infinity, await time(run));
    }
  }
  return Object.fromEntries(Object.entries(fastest).map(([k, s]) => [k, TOTAL / 1e6 / s]));
}

/** Lets the event loop (and the garbage collector) run, as a stream does between pieces. */
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Raw AES-256-GCM: one message over the same pieces, yielding every 1 MiB like a stream. */
async function rawSeal(key: Buffer, input: Buffer[], output?: Buffer[]): Promise<Buffer> {
  const cipher = createCipheriv('aes-256-gcm', key, Buffer.alloc(12));
  for (const [i, piece] of input.entries()) {
    const out = cipher.update(piece);
    output?.push(out);
    if (i % 16 === 15) await yieldToLoop();
  }
  cipher.final();
  return cipher.getAuthTag();
}

async function rawOpen(key: Buffer, input: Buffer[], tag: Buffer): Promise<void> {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.alloc(12));
  decipher.setAuthTag(tag);
  for (const [i, piece] of input.entries()) {
    decipher.update(piece);
    if (i % 16 === 15) await yieldToLoop();
  }
  decipher.final();
}

async function throughput(): Promise<void> {
  const key = randomBytes(32);
  const data = randomBytes(16 * MiB);
  const plaintext = pieces(data, TOTAL);

  // The inputs of decryption, made once in memory: a backup of TOTAL bytes and one raw GCM
  // message of the same length, both read back as 64 KiB pieces.
  const backup: Buffer[] = [];
  await pipeline(Readable.from(plaintext), createEncryptStream(key), async (source) => {
    for await (const piece of source as AsyncIterable<Buffer>) backup.push(piece);
  });
  const backupBytes = Buffer.concat(backup);
  backup.length = 0;
  const rawMessage: Buffer[] = [];
  const tag = await rawSeal(key, plaintext, rawMessage);
  const ciphertext = pieces(Buffer.concat(rawMessage), TOTAL);
  rawMessage.length = 0;

  const speeds = await race({
    rawEncrypt: async () => void (await rawSeal(key, plaintext)),
    encrypt: () => pipeline(Readable.from(plaintext), createEncryptStream(key), countingSink()),
    rawDecrypt: () => rawOpen(key, ciphertext, tag),
    decrypt: () =>
      pipeline(
        Readable.from(pieces(backupBytes, backupBytes.length)),
        createDecryptStream(key),
        countingSink(),
      ),
    webEncrypt: async () => {
      for await (const piece of encryptBackupIterable(key, plaintext)) void piece;
    },
    webDecrypt: async () => {
      const source = pieces(backupBytes, backupBytes.length);
      for await (const piece of decryptBackupIterable(key, source)) void piece;
    },
  });

  const row = (name: string, mbps: number, raw: number) =>
    `${name.padEnd(9)} ${mbps.toFixed(0).padStart(6)} MB/s   raw AES-256-GCM ` +
    `${raw.toFixed(0).padStart(6)} MB/s   ratio ${(mbps / raw).toFixed(2)}`;
  console.log(`backup v1, 1 MiB chunks, ${TOTAL / MiB} MiB in 64 KiB pieces, best of ${ROUNDS}`);
  console.log(row('encrypt', speeds.encrypt!, speeds.rawEncrypt!));
  console.log(row('decrypt', speeds.decrypt!, speeds.rawDecrypt!));
  console.log('WebCrypto path (async iterables, as in a browser), against the same raw figures:');
  console.log(row('encrypt', speeds.webEncrypt!, speeds.rawEncrypt!));
  console.log(row('decrypt', speeds.webDecrypt!, speeds.rawDecrypt!));
}

/**
 * Peak RSS of encryptions of 100 MiB and 4 GiB, each in a child process of its own: with V8's
 * default concurrent GC, and with `--single-threaded-gc`, which keeps collection in step with
 * allocation when a loaded machine starves the GC threads (the memory test uses the latter).
 */
async function memory(): Promise<void> {
  const probe = path.join(__dirname, 'encrypt-probe.js');
  const peak = (flags: string[], bytes: number) => {
    const args = [...flags, probe, String(bytes)];
    const out = execFileSync(process.execPath, args, { encoding: 'utf8' });
    return (JSON.parse(out) as { maxRssKiB: number }).maxRssKiB / 1024;
  };
  for (const [name, flags] of [
    ['default GC', []],
    ['single-threaded GC', ['--single-threaded-gc']],
  ] as const) {
    const small = peak([...flags], 100 * MiB);
    const large = peak([...flags], 4096 * MiB);
    console.log(
      `peak RSS encrypting 100 MiB ${small.toFixed(1)} MiB, 4 GiB ${large.toFixed(1)} MiB ` +
        `(difference ${(large - small).toFixed(1)} MiB), ${name}`,
    );
  }
}

memory()
  .then(throughput)
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
