/**
 * Full recoveries per second through HTTP, against the HSM-bound ceiling of the same work and
 * against a software OPAQUE server doing the equivalent login, measured side by side in one
 * run (issue 3). Run after `npx tsc -b`:
 *
 *   node test/dist/bench/run.js recovery      (or: pnpm --filter @bkv/test bench)
 *
 * The headline vault runs in a child process (the scenario tests' `startTestVault`: SoftHSM,
 * SQLite, local tokens, high request limits), because in production the vault's event loop is
 * not shared with its clients; the in-process figure is printed beside it. Client work
 * (Argon2id, blind, finalize) is done before the clock starts and printed for reference. The
 * "use cases" rows run the same recovery without HTTP, and the SQLite synchronous=NORMAL rows
 * are a what-if, so that the table shows where the time between ceiling and HTTP goes.
 *
 * Environment: BENCH_SECONDS (5) per figure, BENCH_ROUNDS (2) interleaved rounds of which the
 * best per figure is kept, BENCH_CONCURRENCY (32) recoveries in flight, BENCH_LOG_LEVEL (warn)
 * of the vaults, BENCH_VAULT_ARGS node flags for the vault processes, BENCH_PROFILE_DIR to
 * CPU-profile each child vault's measurement window. Ratios, not absolute numbers, are what
 * carries between machines.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { oprfBlind, oprfFinalize, deriveRecordKeys, stretchPassphrase } from '@bkv/protocol';
import { TEST_KDF, startTestVault, type TestVault } from '../support/test-vault';
import { prepareUsers, recoverOnce, type PreparedUser } from './support-http-recovery';
import { openHsmCeiling, type HsmCeiling } from './support-hsm-ceiling';
import { BENCH_SECONDS, closedLoop, type LoadResult } from './support-load';
import { runOpaquePeer } from './support-opaque-peer';
import { createBenchDatabase } from './support-postgres';
import { setSqliteSynchronous } from './support-store-knobs';
import { useCaseRecovery } from './support-use-cases';
import { forkVault } from './support-vault-child';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** Users per loop: a user is only ever in one loop, so its recoveries never overlap. */
const USERS_PER_LOOP = 4;
const USERS = CONCURRENCY * USERS_PER_LOOP;
/** Registered users per peer thread. */
const PEER_USERS = 64;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const VAULT_ARGS = (process.env.BENCH_VAULT_ARGS ?? '').split(' ').filter(Boolean);
/** Logging at `warn`: the per-request info line is measured separately, not by default. */
const VAULT_OVERRIDES = { log: { level: process.env.BENCH_LOG_LEVEL ?? 'warn' } };

interface Row {
  name: string;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  note: string;
}

/** Keeps, for each measurement, the round with the highest rate: other work on the machine
 * only ever slows a figure down, so the best round is the least disturbed one. */
function keepBest(best: Map<string, Row>, row: Row): void {
  const seen = best.get(row.name);
  if (seen === undefined || row.opsPerSecond > seen.opsPerSecond) best.set(row.name, row);
}

/** Loop `loop` takes its users in turn; no other loop ever touches them. */
const userOf = (loop: number, iteration: number) =>
  loop + CONCURRENCY * (iteration % USERS_PER_LOOP);

/** Mean milliseconds of `fn` over `n` calls. */
async function meanMs(n: number, fn: () => unknown): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - start) / n;
}

/** What the timed HTTP loop leaves out: the client's own work for one recovery. */
async function clientCosts(): Promise<string> {
  const salt = randomBytes(16);
  const input = await stretchPassphrase('bench passphrase', salt, TEST_KDF);
  const { blind, blindedElement } = oprfBlind(input, (n) => randomBytes(n));
  const argon = await meanMs(50, () => stretchPassphrase('bench passphrase', salt, TEST_KDF));
  const blinding = await meanMs(50, () => oprfBlind(input, (n) => randomBytes(n)));
  const finalize = await meanMs(50, () =>
    deriveRecordKeys(oprfFinalize(input, blind, blindedElement), new Uint8Array(16)),
  );
  const kdf = `${TEST_KDF.memoryKiB} KiB, t=${TEST_KDF.iterations}`;
  return (
    `client work per recovery, excluded from the HTTP loop: Argon2id (${kdf}) ` +
    `${argon.toFixed(2)} ms, blind ${blinding.toFixed(2)} ms, finalize + HKDF ` +
    `${finalize.toFixed(2)} ms`
  );
}

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
const ownUsage = (r: LoadResult) =>
  usage(r.eventLoopUtilization, r.loopThreadCores, r.processCores, r);

const rate = (n: number) => Math.round(n).toLocaleString('en-US').padStart(7);
const ms = (n: number) => n.toFixed(1).padStart(6);
const share = (n: number) => `${Math.round(n * 100)} %`;

function printTable(rows: Row[]): void {
  console.log(`${'measurement'.padEnd(40)} ${'ops/s'.padStart(7)} p50 ms p99 ms  notes`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(40)} ${rate(r.opsPerSecond)} ${ms(r.p50Ms)} ${ms(r.p99Ms)}  ${r.note}`,
    );
  }
}

function verdict(name: string, ratio: number, target: number): string {
  const word = ratio >= target ? 'meets' : 'MISSES';
  return `${name.padEnd(48)} ${ratio.toFixed(2)}  (${word} ${target.toFixed(1)})`;
}

/** A vault to recover from over HTTP, and how busy it was during the last measurement. */
interface HttpTarget {
  /** One full recovery of user `i` (of USERS). */
  recover(i: number): Promise<void>;
  /** Says how busy the vault was since the measurement began; marks the beginning. */
  mark(): Promise<void>;
  busy(result: LoadResult): Promise<string>;
  close(): Promise<void>;
}

/** The vault in a process of its own, as deployed: the load generator has its own loop. */
async function childTarget(overrides: object, env: Record<string, string>): Promise<HttpTarget> {
  const child = await forkVault({ ...VAULT_OVERRIDES, ...overrides }, VAULT_ARGS, env);
  try {
    const users = await prepareUsers(child, USERS, TEST_KDF);
    return {
      recover: (i) => recoverOnce(child.url, users[i]!),
      mark: () => child.mark(),
      busy: async (result) => {
        const vault = await child.usage();
        const generator = `load generator ${result.processCores.toFixed(2)} cores`;
        const vaultUse = usage(
          vault.eventLoopUtilization,
          vault.loopThreadCores,
          vault.cores,
          result,
        );
        return `vault ${vaultUse}; ${generator}`;
      },
      close: () => child.close(),
    };
  } catch (err) {
    await child.close();
    throw err;
  }
}

/**
 * Two vault processes, each with its own token, SQLite file and half the users: what running
 * one vault process per core (node:cluster) would give, as far as event loops and cores go.
 */
async function pairTarget(env: Record<string, string>): Promise<HttpTarget> {
  const pair = await Promise.all([childTarget({}, env), childTarget({}, env)]);
  return {
    recover: (i) => pair[i % 2]!.recover(i),
    mark: async () => {
      await Promise.all(pair.map((t) => t.mark()));
    },
    busy: async (result) => {
      const notes = await Promise.all(pair.map((t) => t.busy(result)));
      return notes.map((n) => n.replace(/; load generator.*/, '')).join(' | ');
    },
    close: async () => {
      await Promise.all(pair.map((t) => t.close()));
    },
  };
}

interface InProcessTarget extends HttpTarget {
  vault: TestVault;
  users: PreparedUser[];
}

/** The vault in this process: client and server share one event loop. */
async function inProcessTarget(): Promise<InProcessTarget> {
  const vault = await startTestVault(VAULT_OVERRIDES);
  const users = await prepareUsers(vault, USERS, TEST_KDF);
  return {
    vault,
    users,
    recover: (i) => recoverOnce(vault.url, users[i]!),
    mark: async () => undefined,
    busy: async (r) => `shared ${ownUsage(r)}`,
    close: () => vault.close(),
  };
}

const SHIPPED = 'HTTP, child, SQLite (as shipped)';
const CEILING = 'HSM ceiling: evaluateOprf + open';
const peerName = (threads: number) => `OPAQUE peer, ${threads} thread${threads > 1 ? 's' : ''}`;

export async function main(): Promise<void> {
  const cores = availableParallelism();
  const threads = process.env.UV_THREADPOOL_SIZE ?? '4 (default)';
  console.log(
    `cores ${cores}, ${ROUNDS} rounds of ${BENCH_SECONDS} s per figure, ${CONCURRENCY} ` +
      `recoveries in flight, ${USERS} users, UV_THREADPOOL_SIZE ${threads}, ` +
      `vault log level ${VAULT_OVERRIDES.log.level}`,
  );
  console.log(await clientCosts());

  // Everything is set up first, then measured in interleaved rounds, so that other load on the
  // machine spreads over all figures instead of falling on one.
  const targets = new Map<string, HttpTarget>();
  const database = await createBenchDatabase();
  let ceiling: HsmCeiling | undefined;
  const best = new Map<string, Row>();
  try {
    targets.set(SHIPPED, await childTarget({}, {}));
    targets.set(
      'HTTP, child, SQLite sync=NORMAL',
      await childTarget({}, { BENCH_SQLITE_SYNCHRONOUS: 'NORMAL' }),
    );
    targets.set(
      'HTTP, 2 child vaults, SQLite sync=NORMAL',
      await pairTarget({ BENCH_SQLITE_SYNCHRONOUS: 'NORMAL' }),
    );
    if (database !== undefined) {
      const store = { kind: 'postgres', url: database.url };
      targets.set('HTTP, child, PostgreSQL', await childTarget({ store }, {}));
    } else {
      console.log('no PostgreSQL server answered: its figure is left out');
    }
    const inProcess = await inProcessTarget();
    targets.set('HTTP, vault in this process, SQLite', inProcess);
    ceiling = await openHsmCeiling(USERS);

    for (let round = 1; round <= ROUNDS; round++) {
      const rows = await measureRound(targets, inProcess, ceiling, cores);
      for (const row of rows) keepBest(best, row);
      console.log(`round ${round}: ${ratioLines(rows, cores).join('; ')}`);
    }
  } finally {
    for (const target of targets.values()) await target.close();
    await ceiling?.close();
    await database?.drop();
  }

  console.log(`best of ${ROUNDS} rounds:`);
  const rows = [...best.values()];
  printTable(rows);
  const shipped = rateOf(rows, SHIPPED);
  console.log(verdict(`${SHIPPED} / ceiling`, shipped / rateOf(rows, CEILING), 0.7));
  console.log(verdict(`${SHIPPED} / peer (best)`, shipped / peerBest(rows, cores), 1));
  for (const row of rows.filter((r) => isVaultRow(r) && r.name !== SHIPPED)) {
    console.log(`${`${row.name} / ceiling`.padEnd(48)} ${ratio(row, rows, CEILING)}`);
  }
  // With SoftHSM the HSM's work runs on these same cores: no HTTP layer can pass this.
  const bound = rateOf(rows, CEILING) / peerBest(rows, cores);
  console.log(`${'ceiling / peer (bound on HTTP / peer)'.padEnd(48)} ${bound.toFixed(2)}`);
}

const isVaultRow = (r: Row) => r.name.startsWith('HTTP') || r.name.startsWith('use cases');

/** One measurement of every figure, one after the other. */
async function measureRound(
  targets: Map<string, HttpTarget>,
  inProcess: InProcessTarget,
  ceiling: HsmCeiling,
  cores: number,
): Promise<Row[]> {
  const rows: Row[] = [];

  // 1. Full recoveries through HTTP, with this process as the load generator.
  for (const [name, target] of targets) {
    await target.mark();
    const result = await closedLoop(CONCURRENCY, (loop, i) => target.recover(userOf(loop, i)));
    rows.push({ name, ...result, note: await target.busy(result) });
  }

  // 2. The use cases without HTTP (same process, store and adapter), as shipped and what-if.
  const recover = useCaseRecovery(inProcess.vault.vault.deps, inProcess.users);
  for (const mode of ['FULL', 'NORMAL'] as const) {
    setSqliteSynchronous(inProcess.vault.vault, mode);
    const direct = await closedLoop(CONCURRENCY, (loop, i) => recover(userOf(loop, i)));
    const note = ownUsage(direct);
    rows.push({ name: `use cases (no HTTP), SQLite ${mode}`, ...direct, note });
  }
  setSqliteSynchronous(inProcess.vault.vault, 'FULL');

  // 3. The HSM work alone at the same concurrency, on the adapter's default pool.
  const hsm = await closedLoop(CONCURRENCY, (loop, i) => ceiling.recover(userOf(loop, i)));
  const busy = ownUsage(hsm);
  rows.push({ name: CEILING, ...hsm, note: `pool ${ceiling.poolSize}, ${busy}` });

  // 4. The software peer: synchronous, so one thread, then one thread per core.
  for (const threads of [1, cores]) {
    const peer = await runOpaquePeer(threads, PEER_USERS, BENCH_SECONDS);
    rows.push({ name: peerName(threads), ...peer, note: 'server steps only' });
  }
  return rows;
}

/** The peer's throughput on this machine: its better figure, one thread or one per core. */
function peerBest(rows: Row[], cores: number): number {
  return Math.max(rateOf(rows, peerName(1)), rateOf(rows, peerName(cores)));
}

/** The figure of `name` in `rows`. */
function rateOf(rows: Row[], name: string): number {
  return rows.find((r) => r.name === name)!.opsPerSecond;
}

function ratio(row: Row, rows: Row[], of: string): string {
  return (row.opsPerSecond / rateOf(rows, of)).toFixed(2);
}

function ratioLines(rows: Row[], cores: number): string[] {
  const shipped = rows.find((r) => r.name === SHIPPED)!;
  return [
    `shipped / ceiling ${ratio(shipped, rows, CEILING)}`,
    `shipped / peer ${(shipped.opsPerSecond / peerBest(rows, cores)).toFixed(2)}`,
    ...rows
      .filter((r) => isVaultRow(r) && r !== shipped)
      .map((r) => `${r.name.replace(/^HTTP, /, '')} / ceiling ${ratio(r, rows, CEILING)}`),
  ];
}
