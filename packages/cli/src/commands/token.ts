import { parseArgs } from 'node:util';
import { mintLocalToken } from '@bkv/vault';
import { EXIT, type Command } from '../command';
import { dataDirOf } from '../connect';
import { UsageError } from '../passphrase';

export const tokenCommand: Command = {
  name: 'token',
  summary: 'mint a bearer token for a user (local mode only)',
  usage:
    'bkv token --user NAME [--ttl SECONDS] [--data-dir DIR]\n' +
    '  Prints a token signed with the local key in the data folder; a vault in local mode\n' +
    '  accepts it. For one machine and development: production vaults verify JWTs from an\n' +
    '  identity provider instead.\n',
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        user: { type: 'string' },
        ttl: { type: 'string' },
        'data-dir': { type: 'string' },
      },
    });
    const user = values.user ?? ctx.env.BKV_USER;
    if (!user) throw new UsageError('--user NAME is required');
    const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
    if (!Number.isInteger(ttl) || ttl < 1) throw new UsageError('--ttl takes whole seconds');
    ctx.stdout.write(
      `${await mintLocalToken(dataDirOf({ dataDir: values['data-dir'] }, ctx), user, ttl)}\n`,
    );
    return EXIT.ok;
  },
};
