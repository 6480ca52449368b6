/**
 * What every `bkv` command is: a name, a one-line summary, its usage text and a `run` that
 * returns the process exit code. Effects (streams, environment, prompts) come in through the
 * context so that tests can drive a command without a terminal.
 */
import type { Readable, Writable } from 'node:stream';

export interface CliContext {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Asks on the terminal; with `hidden` the answer is not echoed. */
  prompt(question: string, options?: { hidden?: boolean }): Promise<string>;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], ctx: CliContext): Promise<number>;
}

/** Exit codes shared by all commands; per-failure codes start at 10. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
} as const;
