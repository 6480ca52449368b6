/**
 * The entry point of one session thread (see `session-threads.ts`). It loads the same PKCS#11
 * module as the main thread, which has already initialised it for the whole process with
 * CKF_OS_LOCKING_OK (PKCS#11 v2.40 §5.4), and then answers one request at a time. It never
 * initialises, finalises, logs in or closes anything: sessions and their lifetimes are the main
 * thread's.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import * as pkcs11js from 'pkcs11js';
import { describeFailure, runSessionRequest, type SessionRequest } from './session-ops';

/** What the main thread passes at start. */
export interface SessionThreadData {
  modulePath: string;
  /** Nice steps this thread takes below the priority it started with. */
  nice: number;
}

/** A request and the number its answer carries back. */
export interface Numbered {
  id: number;
  request: SessionRequest;
}

function serve(port: NonNullable<typeof parentPort>, data: SessionThreadData): void {
  lowerPriority(data.nice);
  const lib = new pkcs11js.PKCS11();
  lib.load(data.modulePath);
  port.on('message', ({ id, request }: Numbered) => {
    try {
      const value = runSessionRequest(lib, request);
      port.postMessage({ id, value });
      // The message took a copy; an opened record must not linger in this thread's heap.
      value.fill(0);
    } catch (err) {
      port.postMessage({ id, failure: describeFailure(err) });
    }
  });
}

/**
 * On Linux each thread has its own nice value, set with setpriority on its thread id (the
 * last part of /proc/thread-self). A lower priority needs no privilege. Elsewhere, or if it is
 * refused, the thread keeps the process's priority: a slower vault, not a wrong one.
 */
function lowerPriority(nice: number): void {
  if (nice === 0 || process.platform !== 'linux') return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    setPriority(tid, Math.min(19, getPriority(tid) + nice));
  } catch {
    // Keep the priority.
  }
}

if (parentPort !== null) serve(parentPort, workerData as SessionThreadData);
