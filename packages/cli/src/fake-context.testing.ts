/**
 * A `CliContext` whose streams, terminal flags, environment and prompt answers a test
 * controls. Imported only by tests.
 */
import { PassThrough, Readable } from 'node:stream';
import type { CliContext } from './command';

export interface FakeContext {
  ctx: CliContext;
  /** Everything written to stdout so far. */
  out: () => Buffer;
  /** Everything written to stderr so far, as text. */
  err: () => string;
  /** The questions asked so far. */
  asked: string[];
}

export interface FakeOptions {
  /** Piped input; without it stdin is a terminal with nothing typed. */
  stdin?: Buffer;
  /** Answers to prompts, in order; a prompt with none left fails the test. */
  answers?: string[];
  /** Whether stdout and stderr are terminals. */
  tty?: boolean;
  env?: NodeJS.ProcessEnv;
}

export function fakeContext(options: FakeOptions = {}): FakeContext {
  const collect = (stream: PassThrough) => {
    const pieces: Buffer[] = [];
    stream.on('data', (piece: Buffer) => pieces.push(piece));
    return () => Buffer.concat(pieces);
  };
  const stdout = Object.assign(new PassThrough(), { isTTY: options.tty ?? false });
  const stderr = Object.assign(new PassThrough(), { isTTY: options.tty ?? false });
  const stdin = Object.assign(Readable.from(options.stdin ? [options.stdin] : []), {
    isTTY: options.stdin === undefined,
  });
  const answers = [...(options.answers ?? [])];
  const asked: string[] = [];
  const ctx: CliContext = {
    stdin,
    stdout,
    stderr,
    env: options.env ?? {},
    prompt: async (question) => {
      asked.push(question);
      const answer = answers.shift();
      if (answer === undefined) throw new Error(`unexpected prompt: ${question}`);
      return answer;
    },
  };
  const err = collect(stderr);
  return { ctx, out: collect(stdout), err: () => err().toString(), asked };
}
