/**
 * Encrypts `argv[2]` bytes of generated plaintext into a counting sink and prints, as one JSON
 * line, the bytes written and the process's peak resident set size. Run as a child process,
 * one size per process, so that peaks of different sizes can be compared.
 */
import { pipeline } from 'node:stream/promises';
import { createEncryptStream } from '../backup/encrypt-stream';
import { countingSink, patternBase, patternSource } from './pattern';

async function main(): Promise<void> {
  const total = Number(process.argv[2]);
  if (!Number.isSafeInteger(total) || total < 0) throw new Error('usage: encrypt-probe <bytes>');

  const sink = countingSink();
  const started = process.hrtime.bigint();
  await pipeline(
    patternSource(total, patternBase()),
    createEncryptStream(new Uint8Array(32)),
    sink,
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;

  // resourceUsage().maxRSS is in KiB (getrusage ru_maxrss on Linux).
  const maxRssKiB = process.resourceUsage().maxRSS;
  process.stdout.write(
    JSON.stringify({ plaintext: total, written: sink.received(), maxRssKiB, seconds }) + '\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
