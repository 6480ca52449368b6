/**
 * A real vault for scenario tests: a fresh SoftHSM token, a SQLite file in a temp folder, an
 * HTTP server on a free loopback port, every log line captured, and a clock the test can move.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { VaultClient } from '@bkv/client';
import { openHsm } from '@bkv/hsm';
import { makeTestToken, type TestToken } from '@bkv/hsm/testing';
import { loadConfig, mintLocalToken, startVault, type RunningVault } from '@bkv/vault';

/** Cheap Argon2id so that scenarios run quickly; the realm's minimum is lowered to match. */
export const TEST_KDF = { alg: 'argon2id', memoryKiB: 256, iterations: 1, parallelism: 1 } as const;

export interface TestVault {
  vault: RunningVault;
  url: string;
  dataDir: string;
  token: TestToken;
  /** Every log line the vault wrote, as text (none when the lines went to `logDestination`). */
  logs: string[];
  /** The vault's clock: now plus `advance()`d milliseconds. */
  advance(ms: number): void;
  tokenFor(user: string): Promise<string>;
  clientFor(user: string): Promise<VaultClient>;
  close(): Promise<void>;
}

/** `logDestination`: where the log lines go instead of `logs` (the benchmark's log file). */
export async function startTestVault(
  overrides: Record<string, unknown> = {},
  options: { logDestination?: Writable } = {},
): Promise<TestVault> {
  const token = await makeTestToken();
  // The operator's `bkv vault init`: a real HSM's realm is made once, not by `start`.
  await (await openHsm(token.config, { initialize: true })).close();

  const dataDir = mkdtempSync(path.join(tmpdir(), 'bkv-vault-'));
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      listen: { host: '127.0.0.1', port: 0 },
      hsm: {
        ...(overrides.hsm as object),
        devToken: false,
        modulePath: token.config.modulePath,
        tokenLabel: token.config.tokenLabel,
        pinFile: path.join(token.dataDir, 'pins', `${token.config.tokenLabel}.pin`),
      },
      policy: { kdf: TEST_KDF, kdfMinimum: TEST_KDF, ...(overrides.policy as object) },
      limits: {
        perIp: { points: 100_000, durationSeconds: 60 },
        perUser: { points: 100_000, durationSeconds: 60 },
      },
      log: { level: 'debug' },
      shutdownGraceSeconds: 2,
      ...withoutPolicy(overrides),
    },
  });

  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  let offset = 0;
  const vault = await startVault(config, {
    logDestination: options.logDestination ?? destination,
    clock: () => new Date(Date.now() + offset),
  });

  const tokenFor = (user: string) => mintLocalToken(dataDir, user);
  return {
    vault,
    url: vault.url,
    dataDir,
    token,
    logs,
    advance: (ms) => {
      offset += ms;
    },
    tokenFor,
    clientFor: async (user) => {
      const bearer = await tokenFor(user);
      return new VaultClient({ url: vault.url, token: () => bearer, kdf: TEST_KDF });
    },
    close: async () => {
      await vault.close();
      await token.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The sections merged above are not replaced whole by the overrides. */
function withoutPolicy(overrides: Record<string, unknown>): Record<string, unknown> {
  const { policy: _policy, hsm: _hsm, ...rest } = overrides;
  return rest;
}
