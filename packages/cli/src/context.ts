import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { CliContext } from './command';

/** The real terminal: process streams, environment, and a prompt that can hide its input. */
export function processContext(): CliContext {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    prompt: (question, options) => ask(question, options?.hidden ?? false),
  };
}

/** The terminal `ask` reads from and echoes to; the process's own unless a test gives one. */
export interface Terminal {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  echo: NodeJS.WritableStream;
}

const PROCESS_TERMINAL: Terminal = { input: process.stdin, echo: process.stderr };

/**
 * Asks `question` on the terminal. Ctrl-C or Ctrl-D at the prompt rejects: left alone, the
 * pending question would let the process run out of work and exit 0 as if it had succeeded.
 */
export async function ask(
  question: string,
  hidden: boolean,
  terminal: Terminal = PROCESS_TERMINAL,
): Promise<string> {
  if (!terminal.input.isTTY) {
    throw new Error('no terminal to ask on: use --passphrase-file or BKV_PASSPHRASE');
  }
  // Echo goes to a muted stream while a hidden answer is typed.
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) terminal.echo.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: terminal.input, output, terminal: true });
  try {
    const answer = new Promise<string>((resolve, reject) => {
      const stopped = () => reject(new Error('no answer at the prompt; nothing was changed'));
      rl.on('SIGINT', stopped);
      rl.on('close', stopped);
      rl.question(question, resolve);
    });
    muted = hidden;
    const text = await answer;
    if (hidden) terminal.echo.write('\n');
    return text;
  } finally {
    muted = false;
    rl.close();
  }
}
