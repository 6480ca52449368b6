import { readFile } from 'node:fs/promises';
import { VaultClient } from '@bkv/client';
import { mintLocalToken } from '@bkv/vault';
import type { CliContext } from './command';
import { UsageError } from './passphrase';

export const DEFAULT_VAULT_URL = 'http://127.0.0.1:8420';

export interface ConnectFlags {
  vault?: string;
  user?: string;
  tokenFile?: string;
  dataDir?: string;
}

/** The `parseArgs` options every command that talks to the vault accepts. */
export const connectOptions = {
  vault: { type: 'string' },
  user: { type: 'string' },
  'token-file': { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

/**
 * A client for the vault at `--vault` / `BKV_VAULT_URL` (default the local quick-start vault),
 * authenticated by `--token-file`, or in local mode by a token minted for `--user` from the key
 * in the data folder (`--data-dir` / `BKV_DATA_DIR`, default `data`); without either flag, by
 * `BKV_TOKEN`, then `BKV_USER`. A flag always wins over the environment, as `--vault` does.
 */
export async function connectVault(flags: ConnectFlags, ctx: CliContext): Promise<VaultClient> {
  const url = flags.vault ?? ctx.env.BKV_VAULT_URL ?? DEFAULT_VAULT_URL;
  if (flags.tokenFile !== undefined && flags.user !== undefined) {
    throw new UsageError('say who you are once: --user or --token-file, not both');
  }
  let token: string;
  if (flags.tokenFile !== undefined) {
    token = (await readFile(flags.tokenFile, 'utf8')).trim();
  } else if (flags.user === undefined && ctx.env.BKV_TOKEN) {
    token = ctx.env.BKV_TOKEN;
  } else {
    const user = flags.user ?? ctx.env.BKV_USER;
    if (!user) {
      throw new UsageError('say who you are: --user NAME (local mode), --token-file or BKV_TOKEN');
    }
    token = await mintLocalToken(dataDirOf(flags, ctx), user);
  }
  return new VaultClient({ url, token: () => token });
}

export function dataDirOf(flags: { dataDir?: string }, ctx: CliContext): string {
  return flags.dataDir ?? ctx.env.BKV_DATA_DIR ?? 'data';
}

/** Maps `parseArgs` values of {@link connectOptions} to {@link ConnectFlags}. */
export function connectFlags(values: Record<string, unknown>): ConnectFlags {
  const pick = (key: string) => (typeof values[key] === 'string' ? values[key] : undefined);
  return {
    vault: pick('vault'),
    user: pick('user'),
    tokenFile: pick('token-file'),
    dataDir: pick('data-dir'),
  };
}
