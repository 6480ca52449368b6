/**
 * `bkv key new` and `bkv key check`: the 64-digit key on its own, without the vault. Also how
 * every command reads a typed key, and the exit code for one that does not parse.
 */
import { open } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  BackupError,
  formatRecoveryKey,
  generateBackupKey,
  HEADER,
  openHeader,
  parseRecoveryKey,
  RecoveryKeyError,
} from '@bkv/client';
import { EXIT, type CliContext, type Command } from '../command';
import { readKeyFile, writeSecretFile } from '../key-file';
import { UsageError } from '../passphrase';

/** Exit code of a typed or stored key that is not 64 hex digits. */
export const INVALID_KEY_EXIT = 29;

/** Longest input read as a typed key from a pipe: a key with generous separators. */
const MAX_TYPED_KEY = 4096;

/**
 * The backup key from `file` (64-digit form or 32 raw bytes), or typed: asked on the terminal
 * with echo (a key copied from paper must be seen to be checked), or read from a pipe.
 * @throws RecoveryKeyError when what was given does not parse.
 */
export async function readTypedKey(ctx: CliContext, file?: string): Promise<Uint8Array> {
  if (file !== undefined) return readKeyFile(file);
  if (ctx.stdin.isTTY) return parseRecoveryKey(await ctx.prompt('64-digit key: '));

  let text = '';
  for await (const piece of ctx.stdin as AsyncIterable<Buffer | string>) {
    text += piece.toString();
    if (text.length > MAX_TYPED_KEY) throw new UsageError('the key on stdin is far too long');
  }
  return parseRecoveryKey(text);
}

/** Turns a key that does not parse into a sentence and its exit code; rethrows the rest. */
export function keyFailure(ctx: CliContext, name: string, error: unknown): number {
  if (!(error instanceof RecoveryKeyError)) throw error;
  ctx.stderr.write(`bkv ${name}: not a valid 64-digit key: ${error.message}\n`);
  return INVALID_KEY_EXIT;
}

const USAGE =
  'bkv key new [--out FILE]\n' +
  '  prints a new 64-digit backup key, or writes it to FILE (mode 0600, never overwritten)\n' +
  'bkv key check [--key-file FILE] [--backup FILE]\n' +
  '  reads a key (typed on the terminal, piped on stdin, or from FILE) and says whether it is\n' +
  '  well formed; with --backup, also whether it is the key that backup was made with\n';

export const keyCommand: Command = {
  name: 'key',
  summary: 'make a new 64-digit backup key, or check a typed one',
  usage: USAGE,
  async run(argv, ctx) {
    const [action, ...rest] = argv;
    if (action === 'new') return newKey(rest, ctx);
    if (action === 'check') return checkKey(rest, ctx);
    throw new UsageError(`say what to do with the key: new or check\n${USAGE}`);
  },
};

async function newKey(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string' } } });
  const key = generateBackupKey();
  const text = formatRecoveryKey(key);
  key.fill(0);

  if (values.out !== undefined) {
    await writeSecretFile(values.out, `${text}\n`);
    ctx.stderr.write(`new backup key written to ${values.out} (readable only by you)\n`);
  } else {
    ctx.stdout.write(`${text}\n`);
    ctx.stderr.write(
      'write these 64 digits down and keep them safe: whoever has them can read your backups,\n' +
        'and without them (or an escrowed copy) nobody can\n',
    );
  }
  return EXIT.ok;
}

async function checkKey(argv: string[], ctx: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { 'key-file': { type: 'string' }, backup: { type: 'string' } },
  });
  let key: Uint8Array;
  try {
    key = await readTypedKey(ctx, values['key-file']);
  } catch (error) {
    return keyFailure(ctx, 'key check', error);
  }
  if (values.backup === undefined) {
    key.fill(0);
    ctx.stdout.write('the key is well formed: 64 hex digits\n');
    return EXIT.ok;
  }

  // The header alone says whether this is the backup's key; no chunk is read.
  const header = new Uint8Array(HEADER.length);
  const file = await open(values.backup, 'r');
  let read: number;
  try {
    ({ bytesRead: read } = await file.read(header, 0, HEADER.length, 0));
  } finally {
    await file.close();
  }
  try {
    openHeader(key, header.subarray(0, read)).payloadKey.fill(0);
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    ctx.stderr.write(`bkv key check: ${values.backup}: ${error.message}\n`);
    return backupExit(error);
  } finally {
    key.fill(0);
  }
  ctx.stdout.write(`the key is well formed and opens ${values.backup}\n`);
  return EXIT.ok;
}

/** Exit codes per backup failure, so scripts can tell a wrong key from damage. */
export const BACKUP_EXITS = {
  WRONG_KEY: 20,
  DAMAGED: 21,
  TRUNCATED: 22,
  TRAILING_DATA: 23,
  OUT_OF_ORDER: 24,
  DUPLICATE_CHUNK: 25,
  NOT_A_BACKUP: 26,
  UNSUPPORTED_VERSION: 27,
  TOO_LARGE: 28,
  INVALID_OPTIONS: EXIT.usage,
} as const satisfies Record<BackupError['code'], number>;

export function backupExit(error: BackupError): number {
  return BACKUP_EXITS[error.code];
}
