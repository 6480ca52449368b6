/**
 * Puts the vault together from its configuration: HSM, store, auth, limits, metrics, the
 * express app and an HTTP server with graceful shutdown.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Hsm } from '@bkv/hsm';
import { toBase64url } from '@bkv/protocol';
import type { DestinationStream, Logger } from 'pino';
import { createAuthenticator } from './auth';
import type { VaultConfig } from './config';
import { openRealmHsm } from './hsm-setup';
import { Admission } from './http/admission';
import { createApp, type AppParts } from './http/app';
import { openLimiters, requestLimits, type Limiters } from './http/limits';
import { createLogger } from './logger';
import { createMetrics, instrumentHsm } from './metrics';
import { openStore, type StoreConfig } from './store';
import type { Store } from './store/store';
import type { UseCaseDeps } from './use-cases/deps';

export interface VaultOptions {
  /** Where log lines go (stdout when absent); tests capture them here. */
  logDestination?: DestinationStream;
  /** The clock the use cases read; tests move it to expire things and end backoff. */
  clock?: () => Date;
}

export interface RunningVault {
  /** `http://host:port` as bound (port 0 in the config picks a free one). */
  url: string;
  /** The HTTP server, for operators that embed the vault (and tests that watch it). */
  server: Server;
  deps: UseCaseDeps;
  logger: Logger;
  /** Stops accepting, finishes requests in flight (up to the grace period), closes all. */
  close(): Promise<void>;
}

const PURGE_EVERY_MS = 60_000;

export async function startVault(
  config: VaultConfig,
  options: VaultOptions = {},
): Promise<RunningVault> {
  const logger = createLogger(config.log.level, options.logDestination);
  const metrics = createMetrics();
  const rawHsm = await openRealmHsm(config, logger);
  let store: Store;
  try {
    store = await openStore(storeSettings(config, logger));
  } catch (err) {
    await rawHsm.close();
    throw err;
  }
  const hsm: Hsm = instrumentHsm(rawHsm, metrics);

  const deps: UseCaseDeps = {
    store,
    hsm,
    policy: config.policy,
    clock: options.clock ?? (() => new Date()),
    newId: () => toBase64url(randomBytes(16)),
    log: logger,
    events: metrics.events,
  };
  // Shared in PostgreSQL when instances share a database; in memory with SQLite.
  let limiters: Limiters;
  try {
    limiters = await openLimiters(config, (err) => logger.warn({ err }, 'limits connection lost'));
  } catch (err) {
    await Promise.allSettled([store.close(), rawHsm.close()]);
    throw err;
  }
  const closeParts = () => Promise.allSettled([store.close(), rawHsm.close(), limiters.close()]);
  let server: Server;
  try {
    server = await serve(config, {
      deps,
      logger,
      metrics,
      authenticate: await createAuthenticator(config),
      limits: requestLimits(limiters.perIp, limiters.perUser),
      admission: new Admission(config.hsm.maxConcurrent, config.hsm.maxQueue),
      bodyBytes: config.limits.bodyBytes,
      trustProxy: config.listen.trustProxy,
      cors: config.cors,
      ready: async () => {
        await Promise.all([hsm.ping(), store.ping(), limiters.ping()]);
      },
    });
  } catch (err) {
    // A port in use or a JWKS that does not load: nothing opened so far may stay open.
    await closeParts();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const url = `http://${host}:${port}`;
  logger.info(
    { url, realmId: toBase64url(hsm.realmId), store: config.store.kind },
    'vault started',
  );

  const purge = setInterval(() => {
    store.purgeExpired(deps.clock()).catch((err: unknown) => {
      logger.warn({ err }, 'purging expired pending work failed');
    });
  }, PURGE_EVERY_MS);
  purge.unref();

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(purge);
      await shutdown(server, config.shutdownGraceSeconds * 1000);
      await closeParts();
      logger.info('vault stopped');
    })());

  return { url, server, deps, logger, close };
}

/** The store the configuration names; SQLite lives under the data folder unless told. */
export function storeSettings(config: VaultConfig, logger: Logger): StoreConfig {
  const store = config.store;
  if (store.kind === 'sqlite') {
    return { kind: 'sqlite', path: store.path ?? path.join(config.dataDir, 'vault.sqlite') };
  }
  return {
    ...store,
    onIdleError: (err) => logger.warn({ err }, 'an idle database connection failed'),
  };
}

/** The app on an HTTP server listening where the configuration says. */
async function serve(config: VaultConfig, parts: AppParts): Promise<Server> {
  const server = createServer(createApp(parts));
  await listen(server, config.listen.host, config.listen.port);
  return server;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Stops accepting; keep-alive connections close as soon as they fall idle (each answered
 * request lets its connection go), busy ones are cut after the grace period.
 */
async function shutdown(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
  server.closeIdleConnections();
  await closed;
  clearInterval(sweep);
  clearTimeout(deadline);
}
