/**
 * Worker threads that run the hot operations (`session-ops.ts`) so that the event loop makes no
 * PKCS#11 call and no elliptic-curve arithmetic on the request path: it posts one message per
 * operation and reads one answer. Measured on SoftHSM, an OPRF evaluation through pkcs11js's
 * Promise calls cost the event loop about 450 µs of CPU (three thread-pool round trips, five
 * synchronous calls, the point arithmetic); through a session thread, one message each way.
 *
 * Threads start on demand, up to `size`, and a request goes to the thread with the fewest
 * waiting. An idle thread never keeps the process alive.
 */
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BkvError } from '@bkv/protocol';
import { toBkvError } from './errors';
import type { SessionFailure, SessionRequest } from './session-ops';
import type { Numbered, SessionThreadData } from './session-thread';

/** A refusal of the caller's input made before the session was used: it may be lent again. */
export class UntouchedRefusal extends BkvError {}

interface Pending {
  resolve: (value: Uint8Array) => void;
  reject: (error: BkvError) => void;
  operation: string;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

type Answer = { id: number; value: Uint8Array } | { id: number; failure: SessionFailure };

/**
 * The compiled entry, also when this file runs from its source under jest (the test command
 * builds first): a worker thread runs JavaScript only.
 */
const ENTRY = resolve(__dirname, '../dist/session-thread.js');

export class SessionThreads {
  readonly #threads: Thread[] = [];
  #next = 0;
  #closed = false;

  /** `nice`: steps below the process's priority for each thread (Linux; 0 for none). */
  constructor(
    private readonly modulePath: string,
    private readonly size: number,
    private readonly nice = 0,
  ) {}

  /** Runs `request` on a thread; rejects with the `BkvError` its failure maps to. */
  run(operation: string, request: SessionRequest): Promise<Uint8Array> {
    if (this.#closed) {
      return Promise.reject(new BkvError('HSM_UNAVAILABLE', 'HSM adapter is closed'));
    }
    const thread = this.#pick();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      if (thread.pending.size === 0) thread.worker.ref();
      thread.pending.set(id, { resolve, reject, operation });
      thread.worker.postMessage({ id, request } satisfies Numbered);
    });
  }

  /** Stops every thread; call when no request is in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    const threads = this.#threads.splice(0);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  /** The least busy thread, or a new one while some are busy and the size allows. */
  #pick(): Thread {
    let best: Thread | undefined;
    for (const thread of this.#threads) {
      if (best === undefined || thread.pending.size < best.pending.size) best = thread;
    }
    if (best !== undefined && (best.pending.size === 0 || this.#threads.length >= this.size)) {
      return best;
    }
    return this.#start();
  }

  #start(): Thread {
    const worker = new Worker(ENTRY, {
      workerData: { modulePath: this.modulePath, nice: this.nice } satisfies SessionThreadData,
    });
    const thread: Thread = { worker, pending: new Map() };
    worker.unref();
    worker.on('message', (answer: Answer) => this.#settle(thread, answer));
    // A thread that fails outside an operation takes its waiting requests with it.
    const lost = (cause: unknown) => {
      const index = this.#threads.indexOf(thread);
      if (index >= 0) this.#threads.splice(index, 1);
      for (const waiter of thread.pending.values()) {
        waiter.reject(new BkvError('HSM_UNAVAILABLE', 'the HSM session thread stopped', {}, cause));
      }
      thread.pending.clear();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(`exit ${code}`));
    this.#threads.push(thread);
    return thread;
  }

  #settle(thread: Thread, answer: Answer): void {
    const waiter = thread.pending.get(answer.id);
    if (waiter === undefined) return;
    thread.pending.delete(answer.id);
    if (thread.pending.size === 0) thread.worker.unref();
    if ('value' in answer) waiter.resolve(answer.value);
    else waiter.reject(toError(answer.failure, waiter.operation));
  }
}

/** The project error for a failure on a thread, as the adapter's own table decides it. */
function toError(failure: SessionFailure, operation: string): BkvError {
  if (failure.untouched) {
    return new UntouchedRefusal(failure.code ?? 'HSM_BAD_INPUT', failure.message);
  }
  if (failure.code === 'INTERNAL') {
    return new BkvError('INTERNAL', `HSM ${operation} failed`, {}, failure.message);
  }
  if (failure.code !== undefined) return new BkvError(failure.code, failure.message);
  return toBkvError(new Error(failure.message), operation, failure.atInputStep);
}
