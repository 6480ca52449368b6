/**
 * Several vault processes of one realm: one SoftHSM token (initialised once, as
 * `bkv vault init` would), one PostgreSQL database, one data folder for the local-mode signing
 * key (so a token minted once is accepted by every instance), each on its own loopback port.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { VaultClient } from '@bkv/client';
import { openHsm } from '@bkv/hsm';
import { makeTestToken, type TestToken } from '@bkv/hsm/testing';
import { mintLocalToken } from '@bkv/vault';
import { freePort } from './pg-server';
import { spawnVault, type VaultProcess } from './vault-process';

/** Cheap Argon2id so that scenarios run quickly; the realm's minimum is lowered to match. */
export const CLUSTER_KDF = {
  alg: 'argon2id',
  memoryKiB: 256,
  iterations: 1,
  parallelism: 1,
} as const;

export interface ClusterOptions {
  instances: number;
  /** `{kind: 'postgres', url}` for a shared database; SQLite allows one instance only. */
  store: Record<string, unknown>;
  /** Merged into the policy (guess limits, backoff). */
  policy?: Record<string, unknown>;
  /** Sessions per process; small, so that three processes fit on two cores. */
  hsmPoolSize?: number;
}

export interface VaultCluster {
  instances: VaultProcess[];
  urls: string[];
  dataDir: string;
  configFile: string;
  token: TestToken;
  tokenFor(user: string): Promise<string>;
  /** A client of one instance, or one that sends each call to `route(path)`'s instance. */
  clientFor(user: string, url: string, fetcher?: typeof fetch): Promise<VaultClient>;
  close(): Promise<void>;
}

export async function startVaultCluster(options: ClusterOptions): Promise<VaultCluster> {
  const token = await makeTestToken({ poolSize: options.hsmPoolSize ?? 2 });
  await (await openHsm(token.config, { initialize: true })).close();

  // Make the local signing key before any instance starts, so they all read the same one.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bkv-cluster-'));
  await mintLocalToken(dataDir, 'warm-up');

  const configFile = path.join(dataDir, 'vault.json');
  const config = {
    dataDir,
    listen: { host: '127.0.0.1', port: 0 },
    hsm: {
      devToken: false,
      modulePath: token.config.modulePath,
      tokenLabel: token.config.tokenLabel,
      pinFile: path.join(token.dataDir, 'pins', `${token.config.tokenLabel}.pin`),
      poolSize: options.hsmPoolSize ?? 2,
      maxConcurrent: 32,
      maxQueue: 4096,
    },
    store: options.store,
    auth: { mode: 'local', allowNonLoopback: false },
    policy: { kdf: CLUSTER_KDF, kdfMinimum: CLUSTER_KDF, ...options.policy },
    limits: {
      perIp: { points: 1_000_000, durationSeconds: 60 },
      perUser: { points: 1_000_000, durationSeconds: 60 },
      bodyBytes: 4096,
    },
    log: { level: 'warn' },
    shutdownGraceSeconds: 2,
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));

  const instances: VaultProcess[] = [];
  const close = async () => {
    await Promise.all(instances.map((p) => p.stop()));
    await token.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    // One at a time: the first migrates, the others find the schema current.
    for (let i = 0; i < options.instances; i += 1) {
      instances.push(await spawnVault(configFile, await freePort()));
    }
  } catch (err) {
    await close();
    throw err;
  }

  const tokenFor = (user: string) => mintLocalToken(dataDir, user);
  return {
    instances,
    urls: instances.map((p) => p.url),
    dataDir,
    configFile,
    token,
    tokenFor,
    clientFor: async (user, url, fetcher) => {
      const bearer = await tokenFor(user);
      return new VaultClient({ url, token: () => bearer, kdf: CLUSTER_KDF, fetch: fetcher });
    },
    close,
  };
}
