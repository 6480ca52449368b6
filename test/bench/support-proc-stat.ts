/**
 * A process's or thread's stat line from /proc (Linux), as proc(5) numbers its fields. The
 * command name, field 2, may hold spaces and parentheses, so the fields after it are found from
 * the last ')'.
 */
import { readFileSync } from 'node:fs';

/**
 * Field `n` (1-based, as proc(5) counts: 14 utime, 15 stime, 19 nice) of `/proc/<path>/stat`,
 * e.g. `self/task/123`. Throws when the file cannot be read (not Linux, or the thread ended).
 */
export function statFields(path: string): (n: number) => number {
  const stat = readFileSync(`/proc/${path}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // `rest` begins at field 3 (state).
  return (n) => Number(rest[n - 3]);
}
