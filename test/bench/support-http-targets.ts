/**
 * The servers the recovery benchmark drives over HTTP, each behind one interface: the vault in
 * a child process, two of them, the vault in the load generator's own process, and the
 * software OPAQUE peer in a child process. Each target says how busy it was while measured.
 */
import { TEST_KDF, startTestVault, type TestVault } from '../support/test-vault';
import { HttpLanes, type HttpConnection } from './support-http-client';
import { prepareUsers, recoverOnce, type PreparedUser } from './support-http-recovery';
import type { LoadResult } from './support-load';
import { logFile } from './support-log-file';
import type { MeasuredChild } from './support-measured-child';
import { forkOpaquePeer } from './support-opaque-http-peer';
import { loginOnce, prepareLogins } from './support-opaque-http-login';
import { forkVault } from './support-vault-child';

/** What every target is started with. */
export interface TargetSettings {
  /** Users prepared on each server; `recover(lane, i)` takes i below this. */
  users: number;
  /** The vaults' log level; the peer logs at the same. */
  logLevel: string;
  /** Node flags for the child processes. */
  execArgv: string[];
}

/** A server to recover from (or log in to) over HTTP, and how busy it was meanwhile. */
export interface HttpTarget {
  /** The server's process, when it runs in one of its own. */
  pid?: number;
  /** One full recovery of user `i`, on closed-loop lane `lane`'s connection. */
  recover(lane: number, i: number): Promise<void>;
  /** Marks the beginning of a measurement. */
  mark(): Promise<void>;
  /** Says how busy the server was since the mark. */
  busy(result: LoadResult): Promise<string>;
  close(): Promise<void>;
}

export interface InProcessTarget extends HttpTarget {
  vault: TestVault;
  users: PreparedUser[];
}

const share = (n: number) => `${Math.round(n * 100)} %`;

/**
 * How busy a process was: its event loop's busy share and how much of it was on a CPU, its
 * cores in all threads, and CPU per operation.
 */
function usage(loop: number, loopCores: number, cores: number, result: LoadResult): string {
  const each = (cores / result.opsPerSecond) * 1000;
  return (
    `loop busy ${share(loop)} (on CPU ${share(loopCores)}), ${cores.toFixed(2)} cores, ` +
    `${each.toFixed(2)} ms CPU each`
  );
}

/** {@link usage} of this process during `r`. */
export const ownUsage = (r: LoadResult) =>
  usage(r.eventLoopUtilization, r.loopThreadCores, r.processCores, r);

/** The load generator's share of a measurement: its cores and its CPU per operation. */
function generatorUsage(result: LoadResult): string {
  const each = (result.processCores / result.opsPerSecond) * 1000;
  return `load generator ${result.processCores.toFixed(2)} cores, ${each.toFixed(2)} ms CPU each`;
}

/**
 * A server in a child process, named `name` in the notes: `prepare` readies its users and
 * returns one recovery of user i on a connection. The child is closed if preparing fails.
 */
async function childHttpTarget(
  name: string,
  child: MeasuredChild & { url: string },
  prepare: () => Promise<(connection: HttpConnection, i: number) => Promise<void>>,
): Promise<HttpTarget> {
  try {
    const recover = await prepare();
    const lanes = new HttpLanes(child.url);
    return {
      pid: child.pid,
      recover: (lane, i) => recover(lanes.lane(lane), i),
      mark: () => child.mark(),
      busy: async (result) => {
        const used = await child.usage();
        const server = usage(used.eventLoopUtilization, used.loopThreadCores, used.cores, result);
        return `${name} ${server}; ${generatorUsage(result)}`;
      },
      close: async () => {
        lanes.close();
        await child.close();
      },
    };
  } catch (err) {
    await child.close();
    throw err;
  }
}

/** The vault in a process of its own, as deployed: the load generator has its own loop. */
export async function childTarget(
  settings: TargetSettings,
  overrides: object,
  env: Record<string, string>,
): Promise<HttpTarget> {
  const config = { log: { level: settings.logLevel }, ...overrides };
  const child = await forkVault(config, settings.execArgv, env);
  return childHttpTarget('vault', child, async () => {
    const users = await prepareUsers(child, settings.users, TEST_KDF);
    return (connection, i) => recoverOnce(connection, users[i]!);
  });
}

/**
 * Two vault processes, each with its own token, SQLite file and half the users: what running
 * one vault process per core (node:cluster) would give, as far as event loops and cores go.
 */
export async function pairTarget(
  settings: TargetSettings,
  env: Record<string, string>,
): Promise<HttpTarget> {
  const pair = await Promise.all([childTarget(settings, {}, env), childTarget(settings, {}, env)]);
  return {
    recover: (lane, i) => pair[i % 2]!.recover(lane, i),
    mark: async () => {
      await Promise.all(pair.map((t) => t.mark()));
    },
    busy: async (result) => {
      const notes = await Promise.all(pair.map((t) => t.busy(result)));
      const vaults = notes.map((n) => n.replace(/; load generator.*/, '')).join(' | ');
      return `${vaults}; ${generatorUsage(result)}`;
    },
    close: async () => {
      await Promise.all(pair.map((t) => t.close()));
    },
  };
}

/** The vault in this process: client and server share one event loop. */
export async function inProcessTarget(settings: TargetSettings): Promise<InProcessTarget> {
  const log = logFile('in-process');
  const vault = await startTestVault(
    { log: { level: settings.logLevel } },
    { logDestination: log.destination },
  );
  const users = await prepareUsers(vault, settings.users, TEST_KDF);
  const lanes = new HttpLanes(vault.url);
  return {
    vault,
    users,
    recover: (lane, i) => recoverOnce(lanes.lane(lane), users[i]!),
    mark: async () => undefined,
    busy: async (r) => `shared ${ownUsage(r)}`,
    close: async () => {
      lanes.close();
      await vault.close();
      log.remove();
    },
  };
}

/**
 * The software peer served like the vault: a child process, one event loop, the same users and
 * concurrency, each "recovery" one full login (start and finish).
 */
export async function peerTarget(settings: TargetSettings): Promise<HttpTarget> {
  const peer = await forkOpaquePeer(settings.users, settings.logLevel, settings.execArgv);
  return childHttpTarget('peer', peer, async () => {
    const logins = await prepareLogins(peer.url, settings.users);
    return (connection, i) => loginOnce(connection, logins[i]!);
  });
}
