/**
 * Where a benchmark server's log lines go: a file of its own, each line written with one
 * write(2) as it comes, as pino's default destination writes to standard output in a
 * deployment. A run at the vault's default level (info) so pays for its request lines as a
 * deployed vault does, without flooding the benchmark's own output.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

export interface LogFile {
  destination: Writable;
  /** Closes and deletes the file. */
  remove(): void;
}

export function logFile(name: string): LogFile {
  const folder = mkdtempSync(path.join(tmpdir(), 'bkv-bench-log-'));
  const fd = openSync(path.join(folder, `${name}.log`), 'a');
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writeSync(fd, chunk);
      done();
    },
  });
  return {
    destination,
    remove() {
      closeSync(fd);
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
