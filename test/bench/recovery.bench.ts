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
 * "use cases" rows run the same recovery without HTTP, and the "no WAL sync" rows are a what-if
 * (counted guesses answered before the disk confirms them), so that the table shows where the
 * time between ceiling and HTTP goes.
 *
 * The load generator shares the machine's cores with the servers it measures, so its timed
 * loops use a lean keep-alive client over `node:net` (support-http-client.ts; one connection
 * per loop and server, request bytes built beforehand) rather than `fetch`, whose CPU per
 * request the ceiling and the raw peer never pay; each HTTP row's note gives the generator's CPU
 * per operation.
 *
 * Two OPAQUE peers: the raw one ("OPAQUE peer, N threads": the server's two steps in worker
 * threads, no HTTP) is the issue's stated target and the verdict is taken against it. "OPAQUE
 * peer over HTTP" is the like-for-like figure: the same server steps behind express 5, the JSON
 * body parser and the request-line middleware, on one event loop in a child process, driven by the
 * same client at the same concurrency (support-opaque-http-peer.ts, -login.ts).
 *
 * The "on its own core" pair models an HSM that is a device of its own: with SoftHSM the HSM's
 * work runs on the same cores as the service, so the shared-core ceiling is the box's, not the
 * HSM's. There the session threads (all PKCS#11 work of a recovery) get the last core and every
 * other thread, the load generator's included, the others (support-cpu-pinning.ts); the ceiling
 * is one core of SoftHSM and the HTTP figure says how near the service in front of it comes.
 *
 * Environment: BENCH_SECONDS (5) per figure, BENCH_ROUNDS (2) interleaved rounds of which the
 * best per figure is kept, BENCH_CONCURRENCY (32) recoveries in flight, BENCH_LOG_LEVEL (info,
 * the vault's default) of the vaults and the HTTP peer, whose lines go to files of their own,
 * BENCH_VAULT_ARGS node flags for their child processes, BENCH_PROFILE_DIR to CPU-profile each
 * child's measurement window. Ratios, not absolute numbers, are what carries between machines.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { oprfBlind, oprfFinalize, deriveRecordKeys, stretchPassphrase } from '@bkv/protocol';
import { TEST_KDF } from '../support/test-vault';
import { TIMED_CLIENT } from './support-http-client';
import {
  childTarget,
  inProcessTarget,
  ownUsage,
  pairTarget,
  peerTarget,
  type HttpTarget,
  type InProcessTarget,
  type TargetSettings,
} from './support-http-targets';
import { openHsmCeiling, type HsmCeiling } from './support-hsm-ceiling';
import {
  coreSplit,
  pinningUnavailable,
  pinProcess,
  unpinProcess,
  type CoreSplit,
} from './support-cpu-pinning';
import { BENCH_SECONDS, closedLoop } from './support-load';
import { runOpaquePeer } from './support-opaque-peer';
import { createBenchDatabase } from './support-postgres';
import { setWalSync } from './support-store-knobs';
import { useCaseRecovery } from './support-use-cases';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** Users per loop: a user is only ever in one loop, so its recoveries never overlap. */
const USERS_PER_LOOP = 4;
const USERS = CONCURRENCY * USERS_PER_LOOP;
/** Registered users per peer thread. */
const PEER_USERS = 64;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SETTINGS: TargetSettings = {
  users: USERS,
  // The vault's default level, one line per request, to a file per server.
  logLevel: process.env.BENCH_LOG_LEVEL ?? 'info',
  execArgv: (process.env.BENCH_VAULT_ARGS ?? '').split(' ').filter(Boolean),
};

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

const rate = (n: number) => Math.round(n).toLocaleString('en-US').padStart(7);
const ms = (n: number) => n.toFixed(1).padStart(6);

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

const SHIPPED = 'HTTP, child, SQLite (as shipped)';
const CEILING = 'HSM ceiling: evaluateOprf + open';
const HTTP_PEER = 'OPAQUE peer over HTTP';
const PINNED_HTTP = 'HTTP, child, SQLite, HSM on its own core';
const PINNED_CEILING = 'HSM ceiling, HSM on its own core';
/** The ceiling a vault row is held to: the pinned one for the pinned row. */
const ceilingOf = (name: string) => (name === PINNED_HTTP ? PINNED_CEILING : CEILING);

/** The vault whose session threads are pinned, and how the cores are split. */
interface Pinned {
  target: HttpTarget;
  split: CoreSplit;
}
const peerName = (threads: number) => `OPAQUE peer, ${threads} thread${threads > 1 ? 's' : ''}`;

export async function main(): Promise<void> {
  const cores = availableParallelism();
  const threads = process.env.UV_THREADPOOL_SIZE ?? '4 (default)';
  console.log(
    `cores ${cores}, ${ROUNDS} rounds of ${BENCH_SECONDS} s per figure, ${CONCURRENCY} ` +
      `recoveries in flight, ${USERS} users, UV_THREADPOOL_SIZE ${threads}, ` +
      `vault log level ${SETTINGS.logLevel}`,
  );
  console.log(`timed HTTP client: ${TIMED_CLIENT}; preparation through fetch`);
  console.log(await clientCosts());

  // Everything is set up first, then measured in interleaved rounds, so that other load on the
  // machine spreads over all figures instead of falling on one.
  const targets = new Map<string, HttpTarget>();
  const database = await createBenchDatabase();
  let ceiling: HsmCeiling | undefined;
  let httpPeer: HttpTarget | undefined;
  let pinned: Pinned | undefined;
  const best = new Map<string, Row>();
  try {
    targets.set(SHIPPED, await childTarget(SETTINGS, {}, {}));
    targets.set(
      'HTTP, child, SQLite, no WAL sync',
      await childTarget(SETTINGS, {}, { BENCH_SKIP_WAL_SYNC: '1' }),
    );
    targets.set(
      'HTTP, 2 child vaults, SQLite, no WAL sync',
      await pairTarget(SETTINGS, { BENCH_SKIP_WAL_SYNC: '1' }),
    );
    if (database !== undefined) {
      const store = { kind: 'postgres', url: database.url };
      targets.set('HTTP, child, PostgreSQL', await childTarget(SETTINGS, { store }, {}));
    } else {
      console.log('no PostgreSQL server answered: its figure is left out');
    }
    const inProcess = await inProcessTarget(SETTINGS);
    targets.set('HTTP, vault in this process, SQLite', inProcess);
    httpPeer = await peerTarget(SETTINGS);
    ceiling = await openHsmCeiling(USERS);
    const unavailable = pinningUnavailable();
    if (unavailable === undefined) {
      const split = coreSplit();
      pinned = { target: await childTarget(SETTINGS, {}, {}), split };
      // Session threads start on demand: keep every lane busy once so that the whole pool runs.
      await Promise.all(
        Array.from({ length: CONCURRENCY }, (_, lane) => pinned!.target.recover(lane, lane)),
      );
      pinProcess(pinned.target.pid!, split, ceiling.poolSize);
      console.log(
        `HSM on its own core: session threads on core ${split.hsm}, the rest on ${split.host}`,
      );
    } else {
      console.log(`the HSM-on-its-own-core figures are left out: ${unavailable}`);
    }

    for (let round = 1; round <= ROUNDS; round++) {
      const rows = await measureRound(round, targets, inProcess, ceiling, httpPeer, pinned, cores);
      for (const row of rows) keepBest(best, row);
      console.log(`round ${round}: ${ratioLines(rows, cores).join('; ')}`);
    }
  } finally {
    for (const target of targets.values()) await target.close();
    await pinned?.target.close();
    await httpPeer?.close();
    await ceiling?.close();
    await database?.drop();
  }

  console.log(`best of ${ROUNDS} rounds:`);
  const rows = [...best.values()];
  printTable(rows);
  const shipped = rateOf(rows, SHIPPED);
  console.log(verdict(`${SHIPPED} / ceiling`, shipped / rateOf(rows, CEILING), 0.7));
  console.log(verdict(`${SHIPPED} / peer (best)`, shipped / peerBest(rows, cores), 1));
  // The like-for-like figure: a software server behind the same HTTP stack and load generator.
  const overHttp = shipped / rateOf(rows, HTTP_PEER);
  console.log(`${`${SHIPPED} / ${HTTP_PEER}`.padEnd(48)} ${overHttp.toFixed(2)}`);
  for (const row of rows.filter((r) => isVaultRow(r) && r.name !== SHIPPED)) {
    const of = ceilingOf(row.name);
    console.log(
      `${`${row.name} / ${of === CEILING ? 'ceiling' : 'its'}`.padEnd(48)} ${ratio(row, rows, of)}`,
    );
  }
  if (pinned !== undefined) {
    const alone = rateOf(rows, PINNED_HTTP) / rateOf(rows, PINNED_CEILING);
    console.log(verdict('HSM on its own core: HTTP / its ceiling', alone, 0.7));
  }
  // With SoftHSM the HSM's work runs on these same cores: no HTTP layer can pass this.
  const bound = rateOf(rows, CEILING) / peerBest(rows, cores);
  console.log(`${'ceiling / peer (bound on HTTP / peer)'.padEnd(48)} ${bound.toFixed(2)}`);
  const httpCost = rateOf(rows, HTTP_PEER) / rateOf(rows, peerName(1));
  console.log(`${`${HTTP_PEER} / ${peerName(1)}`.padEnd(48)} ${httpCost.toFixed(2)}`);
  console.log(stackBound(rows, cores));
}

/**
 * What the 0.7 target leaves for the vault's own work on this machine. The peer's HTTP stack
 * (express, body parser, request line: no auth, store or HSM) costs its one loop the difference
 * between one login over HTTP and one without; the HSM's work costs `cores` over the ceiling
 * per recovery. If the two shared the cores perfectly and the vault did nothing else, HTTP
 * recoveries would reach this share of the ceiling.
 */
function stackBound(rows: Row[], cores: number): string {
  const stackMs = 1000 / rateOf(rows, HTTP_PEER) - 1000 / rateOf(rows, peerName(1));
  const hsmMs = (1000 * cores) / rateOf(rows, CEILING);
  const bound = hsmMs / (hsmMs + stackMs);
  const name = 'bound on HTTP / ceiling from the HTTP stack alone';
  return (
    `${name.padEnd(48)} ${bound.toFixed(2)}  (HSM ${hsmMs.toFixed(2)} ms of CPU per ` +
    `recovery, peer's HTTP stack ${stackMs.toFixed(2)} ms per login)`
  );
}

const isVaultRow = (r: Row) => r.name.startsWith('HTTP') || r.name.startsWith('use cases');

/**
 * One measurement of every figure, one after the other. The HTTP targets take turns at going
 * first: the first figure of a round follows the peers' saturating threads and so starts on a
 * colder load generator, and no target should always be the one that pays for it.
 */
async function measureRound(
  round: number,
  targets: Map<string, HttpTarget>,
  inProcess: InProcessTarget,
  ceiling: HsmCeiling,
  httpPeer: HttpTarget,
  pinned: Pinned | undefined,
  cores: number,
): Promise<Row[]> {
  const rows: Row[] = [];

  // 1. Full recoveries through HTTP, with this process as the load generator.
  const http = [...targets];
  const turn = (round - 1) % http.length;
  for (const [name, target] of [...http.slice(turn), ...http.slice(0, turn)]) {
    rows.push(await measureHttp(name, target));
  }

  // 2. The use cases without HTTP (same process, store and adapter), as shipped and what-if.
  const recover = useCaseRecovery(inProcess.vault.vault.deps, inProcess.users);
  for (const synced of [true, false]) {
    setWalSync(inProcess.vault.vault, synced);
    const direct = await closedLoop(CONCURRENCY, (loop, i) => recover(userOf(loop, i)));
    const note = ownUsage(direct);
    const name = `use cases (no HTTP), SQLite${synced ? '' : ', no WAL sync'}`;
    rows.push({ name, ...direct, note });
  }
  setWalSync(inProcess.vault.vault, true);

  // 3. The HSM work alone at the same concurrency, on the adapter's default pool.
  const hsm = await closedLoop(CONCURRENCY, (loop, i) => ceiling.recover(userOf(loop, i)));
  const busy = ownUsage(hsm);
  rows.push({ name: CEILING, ...hsm, note: `pool ${ceiling.poolSize}, ${busy}` });

  // 4. The software peer: synchronous, so one thread, then one thread per core.
  for (const threads of [1, cores]) {
    const peer = await runOpaquePeer(threads, PEER_USERS, BENCH_SECONDS);
    rows.push({ name: peerName(threads), ...peer, note: 'server steps only' });
  }

  // 5. The same peer behind HTTP on one event loop, driven like the vault.
  rows.push(await measureHttp(HTTP_PEER, httpPeer));

  // 6. The HSM on a core of its own: this process's session threads on that core and the rest
  //    of it, the load generator, beside the pinned vault's event loop. Its session threads are
  //    the ceiling's and the in-process vault's, both pools at the default size and both
  //    started by now (steps 1 and 3 kept them busy). The child is pinned again in case a
  //    thread of its pool was replaced.
  if (pinned !== undefined) {
    try {
      pinProcess(pinned.target.pid!, pinned.split, ceiling.poolSize);
      pinProcess(process.pid, pinned.split, 2 * ceiling.poolSize);
      const alone = await closedLoop(CONCURRENCY, (loop, i) => ceiling.recover(userOf(loop, i)));
      const note = `pool ${ceiling.poolSize}, ${ownUsage(alone)}`;
      rows.push({ name: PINNED_CEILING, ...alone, note });
      rows.push(await measureHttp(PINNED_HTTP, pinned.target));
    } finally {
      unpinProcess(process.pid, pinned.split);
    }
  }
  return rows;
}

/** Closed-loop load on `target` through this process's lean client, one lane per loop. */
async function measureHttp(name: string, target: HttpTarget): Promise<Row> {
  await target.mark();
  const result = await closedLoop(CONCURRENCY, (loop, i) => target.recover(loop, userOf(loop, i)));
  return { name, ...result, note: await target.busy(result) };
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
    `shipped / peer over HTTP ${ratio(shipped, rows, HTTP_PEER)}`,
    ...rows
      .filter((r) => isVaultRow(r) && r !== shipped)
      .map((r) => {
        const of = ceilingOf(r.name);
        const name = r.name.replace(/^HTTP, /, '');
        return `${name} / ${of === CEILING ? 'ceiling' : 'its'} ${ratio(r, rows, of)}`;
      }),
  ];
}
