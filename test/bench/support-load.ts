/**
 * Closed-loop load for the scenario benchmarks: `concurrency` loops each run one operation after
 * another for a fixed time, so there are always exactly that many in flight. Every operation's
 * latency is kept, which is cheap at these rates and gives exact percentiles.
 */
import { performance } from 'node:perf_hooks';
import { statFields } from './support-proc-stat';

/** What one measurement found. Rates are per second of wall time. */
export interface LoadResult {
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  completed: number;
  /** Share of the wall time this process's event loop was busy (0..1). */
  eventLoopUtilization: number;
  /** CPU time of this whole process (all threads) per second of wall time, in cores. */
  processCores: number;
  /** CPU time of the event-loop thread alone, in cores (Linux; NaN elsewhere). */
  loopThreadCores: number;
}

/** Seconds per figure; `BENCH_SECONDS` overrides it. */
export const BENCH_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

/**
 * Runs `op(loop, iteration)` from `concurrency` loops for `seconds` after `warmupSeconds` of
 * unmeasured load (JIT, connection pools, HSM sessions). Any failure stops the run: a benchmark
 * that silently counts errors as work measures nothing.
 */
export async function closedLoop(
  concurrency: number,
  op: (loop: number, iteration: number) => Promise<void>,
  seconds = BENCH_SECONDS,
  warmupSeconds = 1,
): Promise<LoadResult> {
  await run(concurrency, op, warmupSeconds, []);

  const latencies: number[] = [];
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const loopCpu = loopThreadCpuMs();
  const wall = await run(concurrency, op, seconds, latencies);
  const loopUsed = loopThreadCpuMs() - loopCpu;
  const busy = performance.eventLoopUtilization(elu);
  const used = process.cpuUsage(cpu);

  latencies.sort((a, b) => a - b);
  return {
    opsPerSecond: latencies.length / (wall / 1000),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    completed: latencies.length,
    eventLoopUtilization: busy.utilization,
    processCores: (used.user + used.system) / 1000 / wall,
    loopThreadCores: loopUsed / wall,
  };
}

/** Runs the loops for `seconds`; returns the wall time in ms until the last one stopped. */
async function run(
  concurrency: number,
  op: (loop: number, iteration: number) => Promise<void>,
  seconds: number,
  latencies: number[],
): Promise<number> {
  const start = performance.now();
  const end = start + seconds * 1000;
  const loop = async (index: number) => {
    for (let iteration = 0; performance.now() < end; iteration++) {
      const began = performance.now();
      await op(index, iteration);
      latencies.push(performance.now() - began);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
  return performance.now() - start;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/**
 * User + system CPU of this process's main (event-loop) thread in ms, from /proc, in clock
 * ticks of 10 ms. Next to the loop's busy share it tells computing from waiting inside calls
 * (fsync, locks, or no free core).
 */
export function loopThreadCpuMs(): number {
  try {
    const field = statFields(`self/task/${process.pid}`);
    return (field(14) + field(15)) * 10;
  } catch {
    return NaN;
  }
}
