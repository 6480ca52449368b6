/**
 * A benchmark server in a process of its own (the vault, the OPAQUE peer over HTTP), so that
 * the load generator does not share its event loop. The child reports its endpoint once
 * listening, then answers the parent's messages: 'mark' starts a measurement of its own CPU and
 * event loop, 'usage' reports it, 'close' stops it. With BENCH_PROFILE_DIR set, each
 * measurement's window is also CPU-profiled into that folder.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { loopThreadCpuMs } from './support-load';

/** How busy the child process was since the last mark. */
export interface ChildUsage {
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

/** The parent's handle on a measured child. */
export interface MeasuredChild {
  /** The child's process id. */
  pid: number;
  mark(): Promise<void>;
  usage(): Promise<ChildUsage>;
  close(): Promise<void>;
}

/**
 * Forks `file` with `argv` and waits for the endpoint it reports. `execArgv` goes to the child's
 * node (e.g. `--cpu-prof`); `env` is added to the inherited environment.
 */
export async function forkMeasured<Endpoint extends object>(
  file: string,
  argv: string[],
  execArgv: string[] = [],
  env: Record<string, string> = {},
): Promise<Endpoint & MeasuredChild> {
  const child = fork(file, argv, {
    execArgv,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const endpoint = await new Promise<Endpoint>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Endpoint));
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
  return {
    ...endpoint,
    pid: child.pid!,
    mark: async () => {
      await ask(child, 'mark');
    },
    usage: () => ask(child, 'usage') as Promise<ChildUsage>,
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

/**
 * The child's side: reports `endpoint` to the parent, then measures between 'mark' and
 * 'usage' and runs `close` on 'close'. `name` prefixes its CPU profiles.
 */
export async function answerParent(
  name: string,
  endpoint: object,
  close: () => Promise<void>,
): Promise<void> {
  const profiler = await windowProfiler(name, process.env.BENCH_PROFILE_DIR);
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
      const usage: ChildUsage = {
        eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
        cores: (used.user + used.system) / 1000 / wall,
        loopThreadCores: (loopThreadCpuMs() - loopCpu) / wall,
      };
      await profiler.stop();
      process.send!(usage);
    } else if (message === 'close') {
      await close();
      process.disconnect();
    }
  };
  process.on('message', (message) => void answer(message));
  process.send!(endpoint);
}

/** Profiles one measurement window at a time into `dir`; does nothing without a folder. */
async function windowProfiler(name: string, dir: string | undefined) {
  if (dir === undefined || dir === '') return { start: async () => {}, stop: async () => {} };
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  let count = 0;
  return {
    start: () => session.post('Profiler.start'),
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      const file = path.join(dir, `${name}-${process.pid}-${++count}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
    },
  };
}

/** Runs a child's `serve` when this process is that child; a failure ends it with its reason. */
export function runAsChild(self: NodeJS.Module, serve: () => Promise<void>): void {
  if (require.main !== self) return;
  serve().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
