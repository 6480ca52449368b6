/**
 * A progress bar on stderr for long reads, drawn only when stderr is a terminal (never into a
 * pipe or a log), redrawn at most ten times a second.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { CliContext } from './command';

const WIDTH = 30;
const REDRAW_MS = 100;

/**
 * A pass-through stream that counts the bytes going through it and draws `label`, a bar (when
 * `total` is known) and the rate. Without a terminal on stderr it only passes bytes on.
 */
export function progressMeter(ctx: CliContext, label: string, total?: number): Transform {
  const draw = ctx.stderr.isTTY === true;
  const started = Date.now();
  let seen = 0;
  let drawn = 0;

  const render = () => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = `${formatBytes(seen / seconds)}/s`;
    let line = `${label} ${formatBytes(seen)}`;
    if (total !== undefined && total > 0) {
      const share = Math.min(seen / total, 1);
      const filled = Math.round(share * WIDTH);
      line =
        `${label} [${'#'.repeat(filled)}${' '.repeat(WIDTH - filled)}] ` +
        `${(share * 100).toFixed(0).padStart(3)}% ${formatBytes(seen)} of ${formatBytes(total)}`;
    }
    ctx.stderr.write(`\r${line}  ${rate}\x1b[K`);
  };

  return new Transform({
    transform(piece: Buffer, _encoding, done: TransformCallback) {
      seen += piece.length;
      if (draw && Date.now() - drawn >= REDRAW_MS) {
        render();
        drawn = Date.now();
      }
      done(null, piece);
    },
    flush(done: TransformCallback) {
      if (draw) {
        render();
        ctx.stderr.write('\n');
      }
      done();
    },
  });
}

/** Bytes in binary units, e.g. "1.5 GiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
