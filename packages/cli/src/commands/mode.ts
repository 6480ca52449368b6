/**
 * `bkv mode key` and `bkv mode passphrase`: how the backup key is protected. In key mode the
 * user holds the 64 digits and the vault holds nothing (the escrow record is deleted, which
 * shreds the wrapped key); in passphrase mode the same key is escrowed again, so backups made
 * in either mode stay readable.
 */
import { timingSafeEqual } from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatRecoveryKey } from '@bkv/client';
import { EXIT, type CliContext, type Command } from '../command';
import { connectFlags, connectOptions, connectVault } from '../connect';
import { createSecretFile, discardOnFailure, readKeyFile } from '../key-file';
import { readPassphrase, UsageError } from '../passphrase';
import { keyFailure, readTypedKey } from './key';

const CONNECT_USAGE =
  '  --vault URL, --user NAME, --token-file FILE, --data-dir DIR: how to reach the vault\n';

const USAGE =
  'bkv mode key (--out FILE | --show | --key-file FILE) [--passphrase-file FILE]\n' +
  '  recovers the escrowed key with the passphrase, hands it to you (written to FILE with\n' +
  '  mode 0600, or shown; with --key-file, checked against the key you already hold), then\n' +
  '  deletes the escrow record: from then on the 64 digits are the only way to your backups\n' +
  'bkv mode passphrase [--key-file FILE] [--guess-limit N] [--passphrase-file FILE]\n' +
  '  escrows your 64-digit key (typed, or from FILE) again under a new passphrase\n' +
  CONNECT_USAGE;

const options = {
  ...connectOptions,
  out: { type: 'string' },
  show: { type: 'boolean' },
  'key-file': { type: 'string' },
  'guess-limit': { type: 'string' },
  'passphrase-file': { type: 'string' },
} as const;

export const modeCommand: Command = {
  name: 'mode',
  summary: 'switch between a 64-digit key you keep and a key escrowed under a passphrase',
  usage: USAGE,
  async run(argv, ctx) {
    const [mode, ...rest] = argv;
    const { values } = parseArgs({ args: rest, options });
    if (mode === 'key') return toKeyMode(values, ctx);
    if (mode === 'passphrase') return toPassphraseMode(values, ctx);
    throw new UsageError(`say which mode: key or passphrase\n${USAGE}`);
  },
};

type Values = ReturnType<typeof parseArgs<{ args: string[]; options: typeof options }>>['values'];

async function toKeyMode(values: Values, ctx: CliContext): Promise<number> {
  const held = values['key-file'];
  if (values.out === undefined && !values.show && held === undefined) {
    throw new UsageError(
      'the key must reach you before the escrow goes: --out, --show or --key-file',
    );
  }
  let mine: Uint8Array | undefined;
  try {
    mine = held === undefined ? undefined : await readKeyFile(held);
  } catch (error) {
    return keyFailure(ctx, 'mode key', error);
  }

  const client = await connectVault(connectFlags(values), ctx);
  const record = await client.status();
  if (record === null) {
    ctx.stdout.write(
      'no key is escrowed: the vault holds nothing, your 64 digits are all there is\n',
    );
    return EXIT.ok;
  }
  if (record.state === 'locked') {
    await client.forget();
    ctx.stdout.write(
      'the escrowed key had been destroyed after too many wrong passphrases; ' +
        'its record is now deleted too\n',
    );
    return EXIT.ok;
  }

  // Recover first: the escrow is deleted only once the key is safely in the user's hands.
  const out = values.out !== undefined ? await createSecretFile(values.out) : undefined;
  const { key } = await discardOnFailure(out, async () =>
    client.recover(await readPassphrase(ctx, { confirm: false, file: values['passphrase-file'] })),
  );
  try {
    if (mine !== undefined && !timingSafeEqual(key, mine)) {
      await out?.discard();
      ctx.stderr.write(`bkv mode key: ${held} does not hold the escrowed key; nothing deleted\n`);
      return EXIT.failure;
    }
    const text = formatRecoveryKey(key);
    await out?.write(`${text}\n`);
    if (values.show) ctx.stdout.write(`${text}\n`);
  } finally {
    key.fill(0);
    mine?.fill(0);
  }

  await client.forget();
  ctx.stdout.write(
    'the escrow record is deleted from the vault (its wrapped key is destroyed): ' +
      'your 64-digit key is now the only way to read your backups\n',
  );
  return EXIT.ok;
}

async function toPassphraseMode(values: Values, ctx: CliContext): Promise<number> {
  const guessLimit =
    values['guess-limit'] === undefined ? undefined : Number(values['guess-limit']);
  if (guessLimit !== undefined && !(Number.isInteger(guessLimit) && guessLimit > 0)) {
    throw new UsageError('--guess-limit takes a whole number');
  }
  let key: Uint8Array;
  try {
    key = await readTypedKey(ctx, values['key-file']);
  } catch (error) {
    return keyFailure(ctx, 'mode passphrase', error);
  }

  try {
    const client = await connectVault(connectFlags(values), ctx);
    const passphrase = await readPassphrase(ctx, {
      confirm: true,
      file: values['passphrase-file'],
    });
    const enrolled = await client.enroll(passphrase, key, guessLimit ? { guessLimit } : {});
    enrolled.key.fill(0);
    ctx.stdout.write(
      `your backup key is escrowed again under a passphrase (version ${enrolled.version}); ` +
        `${enrolled.guessLimit} wrong passphrases destroy it. Your backups are unchanged.\n`,
    );
  } finally {
    key.fill(0);
  }
  return EXIT.ok;
}
