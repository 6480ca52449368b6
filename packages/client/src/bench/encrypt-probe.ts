/**
 * Encrypts `argv[2]` bytes of plaintext into a sink that only counts, and prints, as one JSON
 * line, the bytes written and the process's peak resident set size. Run as a child process,
 * one size per process, so that peaks of different sizes can be compared.
 *
 * The plaintext is 64 KiB views of one random 1 MiB buffer, so the source makes no garbage.
 * With `argv[3]` = N and node's `--expose-gc`, a full collection runs after every N MiB: the
 * garbage then peaks at the same height in short and long runs, and what differs between the
 * two peaks is what the encryption holds on to. Without it the peak also carries up to some
 * tens of MiB of garbage, more or less depending on when V8 happened to collect.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createEncryptStream } from '../backup/encrypt-stream';

const MiB = 1 << 20;
const PIECE = 64 * 1024;

async function main(): Promise<void> {
  const total = Number(process.argv[2]);
  const gcEvery = Number(process.argv[3] ?? 0) * MiB;
  if (!Number.isSafeInteger(total) || total < 0) throw new Error('usage: encrypt-probe <bytes>');
  const collect = gcEvery > 0 ? (globalThis as { gc?: () => void }).gc : undefined;
  if (gcEvery > 0 && collect === undefined) throw new Error('run node with --expose-gc');

  // Source: views of one buffer. Sink: counts, and collects garbage at a fixed pace if asked.
  const data = randomBytes(MiB);
  let position = 0;
  const source = new Readable({
    read() {
      const length = Math.min(PIECE, total - position);
      if (length <= 0) return void this.push(null);
      const from = position % MiB;
      this.push(data.subarray(from, from + length));
      position += length;
    },
  });
  let written = 0;
  let nextCollection = gcEvery;
  const sink = new Writable({
    write(piece: Buffer, _encoding, done) {
      written += piece.length;
      if (collect !== undefined && written >= nextCollection) {
        collect();
        nextCollection += gcEvery;
      }
      done();
    },
  });

  const started = process.hrtime.bigint();
  await pipeline(source, createEncryptStream(new Uint8Array(32)), sink);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  const maxRssKiB = peakRssKiB();
  process.stdout.write(JSON.stringify({ plaintext: total, written, maxRssKiB, seconds }) + '\n');
}

/**
 * Peak RSS of this process in KiB. Linux's VmHWM belongs to the address space that exec made;
 * getrusage's maxRSS is not used because Linux carries it over from the parent process.
 */
function peakRssKiB(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    if (match?.[1] !== undefined) return Number(match[1]);
  } catch {
    // Not Linux: fall through.
  }
  return process.resourceUsage().maxRSS;
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
