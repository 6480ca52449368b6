/**
 * The end-user commands for passphrase escrow: enroll, recover, status, forget.
 */
import { parseArgs } from 'node:util';
import { formatRecoveryKey } from '@bkv/client';
import { EXIT, type CliContext, type Command } from '../command';
import { connectFlags, connectOptions, connectVault } from '../connect';
import { createSecretFile, discardOnFailure, readKeyFile } from '../key-file';
import { readPassphrase, UsageError } from '../passphrase';

const CONNECT_USAGE =
  '  --vault URL          the vault (BKV_VAULT_URL, default http://127.0.0.1:8420)\n' +
  '  --user NAME          local mode: mint a token for NAME (BKV_USER)\n' +
  '  --token-file FILE    a bearer token (or BKV_TOKEN)\n' +
  '  --data-dir DIR       local mode: the vault data folder (BKV_DATA_DIR, default data)\n';

export const enrollCommand: Command = {
  name: 'enroll',
  summary: 'escrow a backup key in the vault under a passphrase',
  usage:
    'bkv enroll [--key-file FILE | --out FILE] [--guess-limit N] [--passphrase-file FILE]\n' +
    '  --key-file FILE      escrow this key (64-digit form or 32 raw bytes); default a new one\n' +
    '  --out FILE           write the new key to FILE (mode 0600) in its 64-digit form\n' +
    '  --guess-limit N      wrong passphrases allowed before the key is destroyed\n' +
    CONNECT_USAGE,
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        ...connectOptions,
        'key-file': { type: 'string' },
        out: { type: 'string' },
        'guess-limit': { type: 'string' },
        'passphrase-file': { type: 'string' },
      },
    });
    const guessLimit = optionalCount(values['guess-limit'], '--guess-limit');
    const key = values['key-file'] ? await readKeyFile(values['key-file']) : undefined;
    // Made first: a file that cannot be written must stop the command before the vault
    // replaces a record with a key written nowhere.
    const out = values.out ? await createSecretFile(values.out) : undefined;
    const enrolled = await discardOnFailure(out, async () => {
      const client = await connectVault(connectFlags(values), ctx);
      const passphrase = await readPassphrase(ctx, {
        confirm: true,
        file: values['passphrase-file'],
      });
      return client.enroll(passphrase, key, guessLimit ? { guessLimit } : {});
    });
    try {
      await out?.write(formatRecoveryKey(enrolled.key) + '\n');
    } catch (err) {
      throw new Error(
        `backup key escrowed (version ${enrolled.version}), but ${values.out} could not be ` +
          `written (${(err as Error).message}); get the key back with bkv recover`,
      );
    }
    ctx.stdout.write(
      `backup key escrowed (version ${enrolled.version}); ` +
        `${enrolled.guessLimit} wrong passphrases destroy it\n`,
    );
    enrolled.key.fill(0);
    return EXIT.ok;
  },
};

export const recoverCommand: Command = {
  name: 'recover',
  summary: 'recover the escrowed backup key with the passphrase',
  usage:
    'bkv recover (--out FILE | --show) [--passphrase-file FILE]\n' +
    '  --out FILE           write the key to FILE (mode 0600) in its 64-digit form\n' +
    '  --show               print the key as 64 digits\n' +
    CONNECT_USAGE,
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        ...connectOptions,
        out: { type: 'string' },
        show: { type: 'boolean' },
        'passphrase-file': { type: 'string' },
      },
    });
    if (!values.out && !values.show)
      throw new UsageError('say where the key goes: --out or --show');
    // Made first, so that a file that cannot be written spends no guess.
    const out = values.out ? await createSecretFile(values.out) : undefined;
    const { key, version } = await discardOnFailure(out, async () => {
      const client = await connectVault(connectFlags(values), ctx);
      const passphrase = await readPassphrase(ctx, {
        confirm: false,
        file: values['passphrase-file'],
      });
      return client.recover(passphrase);
    });
    const text = formatRecoveryKey(key);
    key.fill(0);
    if (out) {
      await out.write(text + '\n');
      ctx.stdout.write(`backup key recovered (version ${version}) into ${values.out}\n`);
    }
    if (values.show) ctx.stdout.write(`${text}\n`);
    return EXIT.ok;
  },
};

export const statusCommand: Command = {
  name: 'status',
  summary: 'show whether a key is escrowed and how many guesses are left',
  usage: 'bkv status\n' + CONNECT_USAGE,
  async run(argv, ctx) {
    const client = await connectOnly(argv, ctx);
    const record = await client.status();
    if (!record) ctx.stdout.write('no backup key escrowed\n');
    else if (record.state === 'locked') {
      ctx.stdout.write(`destroyed after too many wrong passphrases at ${record.lockedAt}\n`);
    } else {
      ctx.stdout.write(
        `escrowed since ${record.createdAt} (version ${record.version}); ` +
          `${record.guessesRemaining} of ${record.guessLimit} guesses left\n`,
      );
    }
    return EXIT.ok;
  },
};

export const forgetCommand: Command = {
  name: 'forget',
  summary: 'delete the escrowed key from the vault',
  usage: 'bkv forget\n' + CONNECT_USAGE,
  async run(argv, ctx) {
    const client = await connectOnly(argv, ctx);
    const deleted = await client.forget();
    ctx.stdout.write(deleted ? 'escrowed key deleted\n' : 'no backup key was escrowed\n');
    return EXIT.ok;
  },
};

/** The vault client for a command whose only flags are the connection flags. */
async function connectOnly(argv: string[], ctx: CliContext) {
  const { values } = parseArgs({ args: argv, options: connectOptions });
  return connectVault(connectFlags(values), ctx);
}

function optionalCount(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d{0,3}$/.test(text)) throw new UsageError(`${flag} takes a whole number`);
  return Number(text);
}
