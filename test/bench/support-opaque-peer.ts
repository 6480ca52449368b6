/**
 * Runs the software peer (see support-opaque-worker.ts) on several threads at once and adds
 * their rates: the peer's work is synchronous, so its concurrency is the number of threads, and
 * its ceiling on this machine is one thread per core.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PeerWorkerData, PeerWorkerResult } from './support-opaque-worker';

export interface PeerResult {
  threads: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** `threads` workers, each with `users` registered users, timed together for `seconds`. */
export async function runOpaquePeer(
  threads: number,
  users: number,
  seconds: number,
): Promise<PeerResult> {
  const data: PeerWorkerData = { users, seconds, warmupSeconds: 1 };
  const workers = Array.from(
    { length: threads },
    () => new Worker(path.join(__dirname, 'support-opaque-worker.js'), { workerData: data }),
  );
  try {
    await Promise.all(workers.map((w) => nextMessage(w)));
    const results = (await Promise.all(
      workers.map((w) => {
        const answer = nextMessage(w);
        w.postMessage('go');
        return answer;
      }),
    )) as PeerWorkerResult[];

    // Rates add up across threads; the latency shown is the slowest thread's.
    return {
      threads,
      opsPerSecond: results.reduce((sum, r) => sum + r.completed / (r.wallMs / 1000), 0),
      p50Ms: Math.max(...results.map((r) => r.p50Ms)),
      p99Ms: Math.max(...results.map((r) => r.p99Ms)),
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function nextMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}
