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

async function ask(question: string, hidden: boolean): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new Error('no terminal to ask on: use --passphrase-file or BKV_PASSPHRASE');
  }
  // Echo goes to a muted stream while a hidden answer is typed.
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = new Promise<string>((resolve) => rl.question(question, resolve));
    muted = hidden;
    const text = await answer;
    if (hidden) process.stderr.write('\n');
    return text;
  } finally {
    rl.close();
  }
}
