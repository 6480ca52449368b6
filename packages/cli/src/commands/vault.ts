/**
 * Operator commands: `bkv vault start`, `bkv vault init`, `bkv vault migrate`.
 */
import { parseArgs } from 'node:util';
import {
  createLogger,
  loadConfig,
  openRealmHsm,
  openStore,
  startVault,
  storeSettings,
} from '@bkv/vault';
import { toBase64url } from '@bkv/protocol';
import { EXIT, type Command } from '../command';
import { UsageError } from '../passphrase';

const CONFIG_USAGE =
  '  --config FILE        a JSON configuration file (or BKV_CONFIG)\n' +
  '  --data-dir DIR       data folder for the embedded defaults (BKV_DATA_DIR, default data)\n' +
  '  --host HOST --port N where to listen (BKV_HOST, BKV_PORT; default 127.0.0.1:8420)\n';

const configOptions = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
} as const;

/** The configuration from the command's flags over the environment and the file. */
function configFrom(argv: string[], env: NodeJS.ProcessEnv) {
  const { values } = parseArgs({ args: argv, options: configOptions });
  const overrides: Record<string, unknown> = {};
  if (typeof values['data-dir'] === 'string') overrides.dataDir = values['data-dir'];
  const listen: Record<string, unknown> = {};
  if (typeof values.host === 'string') listen.host = values.host;
  if (typeof values.port === 'string') listen.port = Number(values.port);
  if (Object.keys(listen).length > 0) overrides.listen = listen;
  const file = typeof values.config === 'string' ? values.config : undefined;
  return loadConfig({ file, env, overrides });
}

const start: Command = {
  name: 'start',
  summary: 'run the vault (SoftHSM token and SQLite under the data folder by default)',
  usage: 'bkv vault start [options]\n' + CONFIG_USAGE,
  async run(argv, ctx) {
    const vault = await startVault(configFrom(argv, ctx.env));
    ctx.stderr.write(`vault listening on ${vault.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await vault.close();
    return EXIT.ok;
  },
};

const init: Command = {
  name: 'init',
  summary: 'initialise the realm (HSM keys, realm id) and the database, then exit',
  usage: 'bkv vault init [options]\n' + CONFIG_USAGE,
  async run(argv, ctx) {
    const config = configFrom(argv, ctx.env);
    const logger = createLogger(config.log.level);
    const hsm = await openRealmHsm(config, logger, { initialize: true });
    try {
      const store = await openStore(storeSettings(config, logger));
      await store.close();
      ctx.stdout.write(`realm ${toBase64url(hsm.realmId)} ready\n`);
    } finally {
      await hsm.close();
    }
    return EXIT.ok;
  },
};

const migrate: Command = {
  name: 'migrate',
  summary: 'create or upgrade the database schema, then exit',
  usage: 'bkv vault migrate [options]\n' + CONFIG_USAGE,
  async run(argv, ctx) {
    const config = configFrom(argv, ctx.env);
    const store = await openStore(storeSettings(config, createLogger(config.log.level)));
    await store.close();
    ctx.stdout.write('database schema is current\n');
    return EXIT.ok;
  },
};

const SUBCOMMANDS = [start, init, migrate];

export const vaultCommand: Command = {
  name: 'vault',
  summary: 'operate the vault: start, init, migrate',
  usage: SUBCOMMANDS.map((c) => `bkv vault ${c.name}: ${c.summary}`).join('\n') + '\n',
  async run(argv, ctx) {
    const sub = SUBCOMMANDS.find((c) => c.name === argv[0]);
    if (!sub)
      throw new UsageError(`bkv vault takes one of: ${SUBCOMMANDS.map((c) => c.name).join(', ')}`);
    return sub.run(argv.slice(1), ctx);
  },
};
