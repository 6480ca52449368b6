/**
 * The benchmark's vault in a process of its own, so that the load generator's HTTP client does
 * not share the vault's event loop. It is the scenario tests' vault (`startTestVault`: SoftHSM,
 * SQLite, cheap KDF, high request limits) started with the overrides given as JSON in argv[2].
 * It reports `{ url, dataDir }` once listening, then answers the parent's messages: 'mark'
 * starts a measurement of its own CPU and event loop, 'usage' reports it, 'close' stops it.
 * With BENCH_PROFILE_DIR set, each measurement's window is also CPU-profiled into that folder.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { startTestVault } from '../support/test-vault';
import { applyStoreKnobs } from './support-store-knobs';
import type { VaultEndpoint } from './support-http-recovery';
import { loopThreadCpuMs } from './support-load';

/** How busy the vault process was since the last mark. */
export interface VaultUsage {
  /** Share of wall time its event loop was busy (0..1). */
  eventLoopUtilization: number;
  /** CPU time of the whole process (event loop and libuv threads), in cores. */
  cores: number;
  /**
   * CPU time of the event-loop thread alone, in cores (Linux; NaN elsewhere). Below the loop's
   * busy share, the loop spent the difference waiting inside calls: fsync, locks, preemption.
   */
  loopThreadCores: number;
}

/** A vault running in a child process. */
export interface ChildVault extends VaultEndpoint {
  mark(): Promise<void>;
  usage(): Promise<VaultUsage>;
  close(): Promise<void>;
}

/**
 * Forks this file as a vault. `execArgv` goes to the child's node (e.g. `--cpu-prof`); `env` is
 * added to the inherited environment (e.g. UV_THREADPOOL_SIZE).
 */
export async function forkVault(
  overrides: Record<string, unknown>,
  execArgv: string[] = [],
  env: Record<string, string> = {},
): Promise<ChildVault> {
  const child = fork(__filename, [JSON.stringify(overrides)], {
    execArgv,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const endpoint = await new Promise<VaultEndpoint>((resolve, reject) => {
    child.once('message', (m) => resolve(m as VaultEndpoint));
    child.once('exit', (code) => reject(new Error(`the vault process exited with ${code}`)));
  });
  return {
    ...endpoint,
    mark: async () => {
      await ask(child, 'mark');
    },
    usage: () => ask(child, 'usage') as Promise<VaultUsage>,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.send('close');
      }),
  };
}

function ask(child: ChildProcess, message: string): Promise<unknown> {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(message);
  });
}

async function serve(): Promise<void> {
  const vault = await startTestVault(
    JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>,
  );
  applyStoreKnobs(vault.vault);
  const profiler = await windowProfiler(process.env.BENCH_PROFILE_DIR);
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  let cpu = process.cpuUsage();
  let since = performance.now();
  let loopCpu = loopThreadCpuMs();

  const answer = async (message: unknown) => {
    if (message === 'mark') {
      await profiler.start();
      elu = performance.eventLoopUtilization();
      cpu = process.cpuUsage();
      loopCpu = loopThreadCpuMs();
      since = performance.now();
      process.send!('marked');
    } else if (message === 'usage') {
      const used = process.cpuUsage(cpu);
      const wall = performance.now() - since;
      const usage: VaultUsage = {
        eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
        cores: (used.user + used.system) / 1000 / wall,
        loopThreadCores: (loopThreadCpuMs() - loopCpu) / wall,
      };
      await profiler.stop();
      process.send!(usage);
    } else if (message === 'close') {
      await vault.close();
      process.disconnect();
    }
  };
  process.on('message', (message) => void answer(message));
  process.send!({ url: vault.url, dataDir: vault.dataDir } satisfies VaultEndpoint);
}

/** Profiles one measurement window at a time into `dir`; does nothing without a folder. */
async function windowProfiler(dir: string | undefined) {
  if (dir === undefined || dir === '') return { start: async () => {}, stop: async () => {} };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  let count = 0;
  return {
    start: () => session.post('Profiler.start'),
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      const file = path.join(dir, `vault-${process.pid}-${++count}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
    },
  };
}

if (require.main === module) {
  serve().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
