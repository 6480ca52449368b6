/**
 * Plaintext made on the fly for tests and benchmarks of large backups: a 1 MiB block whose first
 * 8 bytes are replaced by the block number, repeated. Nothing touches the disk, and a reader can
 * check every byte it gets back without holding the input.
 */
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';

export const PATTERN_BLOCK = 1 << 20;

/** The pattern's block `n`. */
function block(base: Buffer, n: number): Buffer {
  const out = Buffer.from(base);
  out.writeBigUInt64BE(BigInt(n), 0);
  return out;
}

/** A readable of `total` pattern bytes, in pieces of `pieceSize` (64 KiB, like a file read). */
export function patternSource(total: number, base: Buffer, pieceSize = 1 << 16): Readable {
  let position = 0;
  let current = block(base, 0);
  return new Readable({
    highWaterMark: pieceSize,
    read() {
      if (position >= total) return void this.push(null);
      const inBlock = position % PATTERN_BLOCK;
      if (inBlock === 0) current = block(base, position / PATTERN_BLOCK);
      const length = Math.min(pieceSize, total - position, PATTERN_BLOCK - inBlock);
      this.push(current.subarray(inBlock, inBlock + length));
      position += length;
    },
  });
}

/** A writable that checks each byte against the pattern and counts them. */
export function patternCheck(base: Buffer): Writable & { received: () => number } {
  let position = 0;
  let current = block(base, 0);
  const sink = new Writable({
    write(piece: Buffer, _encoding, done) {
      let at = 0;
      while (at < piece.length) {
        const inBlock = position % PATTERN_BLOCK;
        if (inBlock === 0) current = block(base, position / PATTERN_BLOCK);
        const length = Math.min(piece.length - at, PATTERN_BLOCK - inBlock);
        const expected = current.subarray(inBlock, inBlock + length);
        if (!expected.equals(piece.subarray(at, at + length))) {
          return done(new Error(`output differs from the input near byte ${position}`));
        }
        position += length;
        at += length;
      }
      done();
    },
  });
  return Object.assign(sink, { received: () => position });
}

/** A writable that drops everything and counts the bytes. */
export function countingSink(): Writable & { received: () => number } {
  let count = 0;
  const sink = new Writable({
    write(piece: Buffer, _encoding, done) {
      count += piece.length;
      done();
    },
  });
  return Object.assign(sink, { received: () => count });
}

/** A random pattern base block. */
export function patternBase(): Buffer {
  return randomBytes(PATTERN_BLOCK);
}
