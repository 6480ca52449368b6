/**
 * `bkv encrypt`, and what it shares with `bkv decrypt`: where the key comes from, files or
 * stdin/stdout, a progress bar on a terminal, and a sentence and exit code per failure.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { BackupError, createDecryptStream, createEncryptStream } from '@bkv/client';
import { EXIT, type CliContext, type Command } from '../command';
import { connectFlags, connectOptions, connectVault } from '../connect';
import { readPassphrase, UsageError } from '../passphrase';
import { progressMeter } from '../progress';
import { backupExit, keyFailure, readTypedKey } from './key';

export type Direction = 'encrypt' | 'decrypt';

/** The `parseArgs` options of both commands. */
const cipherOptions = {
  ...connectOptions,
  out: { type: 'string', short: 'o' },
  force: { type: 'boolean' },
  'key-file': { type: 'string' },
  recover: { type: 'boolean' },
  'passphrase-file': { type: 'string' },
} as const;

/** The usage text of `bkv encrypt` or `bkv decrypt`. */
export function cipherUsage(direction: Direction): string {
  const [from, to] = direction === 'encrypt' ? ['FILE', 'backup'] : ['BACKUP', 'plaintext'];
  return (
    `bkv ${direction} [${from} | -] [--out FILE] [--key-file FILE | --recover]\n` +
    `  reads ${from} (or stdin) and writes the ${to} to --out FILE (or stdout)\n` +
    '  -o, --out FILE        write here; made under a temporary name, renamed when complete\n' +
    '  --force               replace FILE if it exists\n' +
    '  --key-file FILE       the key in its 64-digit form or as 32 raw bytes\n' +
    '  --recover             recover the key from the vault with the passphrase\n' +
    '  --passphrase-file F   with --recover: the passphrase (or BKV_PASSPHRASE, or a prompt)\n' +
    '  (neither: the 64-digit key is asked on the terminal)\n' +
    '  with --recover also: --vault URL, --user NAME, --token-file FILE, --data-dir DIR\n' +
    'exit codes: 20 wrong key, 21 damaged, 22 truncated, 23 trailing data, 24 chunks out of\n' +
    '  order, 25 duplicated chunk, 26 not a backup, 27 unsupported version, 29 invalid key\n'
  );
}

export const encryptCommand: Command = {
  name: 'encrypt',
  summary: 'encrypt a file or stdin into a backup with the backup key',
  usage: cipherUsage('encrypt'),
  run: (argv, ctx) => runCipher('encrypt', argv, ctx),
};

/** Runs `bkv encrypt` or `bkv decrypt` with its arguments; returns the exit code. */
export async function runCipher(direction: Direction, argv: string[], ctx: CliContext) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: cipherOptions,
    allowPositionals: true,
  });
  if (positionals.length > 1) throw new UsageError(`one input at most\n${cipherUsage(direction)}`);
  const input = positionals[0] === '-' ? undefined : positionals[0];
  const output = values.out === '-' ? undefined : values.out;

  // Check what can be checked before asking for any secret.
  if (output === undefined && direction === 'encrypt' && ctx.stdout.isTTY) {
    throw new UsageError('a backup is binary: write it with --out FILE or into a pipe');
  }
  if (output !== undefined && !values.force && (await exists(output))) {
    throw new UsageError(`${output} exists; choose another file or add --force`);
  }
  if (values['key-file'] !== undefined && values.recover) {
    throw new UsageError('give the key one way: --key-file or --recover');
  }
  if (input === undefined && values['key-file'] === undefined && !values.recover) {
    throw new UsageError('the input comes from stdin, so the key cannot be typed: use --key-file');
  }

  let key: Uint8Array;
  try {
    key = values.recover
      ? await recoverKey(values, ctx)
      : await readTypedKey(ctx, values['key-file']);
  } catch (error) {
    return keyFailure(ctx, direction, error);
  }

  const transform = direction === 'encrypt' ? createEncryptStream(key) : createDecryptStream(key);
  key.fill(0);
  const total = input === undefined ? undefined : (await stat(input)).size;
  const source: Readable = input === undefined ? ctx.stdin : createReadStream(input);
  const verb = direction === 'encrypt' ? 'encrypting' : 'decrypting';
  const stages = [source, progressMeter(ctx, verb, total), transform] as const;

  try {
    if (output === undefined) await pipeline(...stages, forwardTo(ctx.stdout));
    else await writeAtomically(output, (sink) => pipeline(...stages, sink));
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    ctx.stderr.write(`bkv ${direction}: ${input ?? 'stdin'}: ${error.message}\n`);
    if (output !== undefined) ctx.stderr.write(`nothing was written to ${output}\n`);
    return backupExit(error);
  }
  if (output !== undefined) ctx.stderr.write(`${direction}ed ${input ?? 'stdin'} into ${output}\n`);
  return EXIT.ok;
}

/** The escrowed key, recovered with the passphrase (one guess of the budget if wrong). */
async function recoverKey(values: Record<string, unknown>, ctx: CliContext): Promise<Uint8Array> {
  const client = await connectVault(connectFlags(values), ctx);
  const file = values['passphrase-file'];
  const passphrase = await readPassphrase(ctx, {
    confirm: false,
    file: typeof file === 'string' ? file : undefined,
  });
  return (await client.recover(passphrase)).key;
}

/**
 * Runs `write` into a new file (mode 0600) beside `target` and renames it over `target` only
 * when `write` succeeds, so that a failed decryption leaves no partial plaintext behind.
 */
async function writeAtomically(
  target: string,
  write: (sink: Writable) => Promise<void>,
): Promise<void> {
  const name = `.${path.basename(target)}.${randomBytes(6).toString('hex')}.partial`;
  const temporary = path.join(path.dirname(target), name);
  try {
    await write(createWriteStream(temporary, { flags: 'wx', mode: 0o600 }));
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/** A writable into the context's stdout that leaves it open at the end. */
function forwardTo(stdout: CliContext['stdout']): Writable {
  return new Writable({
    write(piece: Buffer, _encoding, done) {
      if (stdout.write(piece)) done();
      else stdout.once('drain', () => done());
    },
  });
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
