/**
 * The HSM on a core of its own: a model of a deployment in which the HSM is a device. With
 * SoftHSM the HSM's work runs on the host's cores, so the shared-core figures measure one box
 * doing both jobs. Here the adapter's session threads (the only threads that run PKCS#11 work
 * in a recovery) are pinned to the last core and every other thread of the process, the load
 * generator's included, to the others: the ceiling is then what one core of SoftHSM can do, and
 * the HTTP figure says how close the service in front of it comes.
 *
 * Session threads are found by their nice value, which they lower below the event loop's
 * (`hsm.threadNice`, default 10): a thread's nice is in /proc/<pid>/task/<tid>/stat. They start
 * on demand, so a process is pinned once its pool has been busy, and again before each
 * measurement (a thread started later would take its creator's cores). Pinning is done with
 * taskset(1) per thread, within the cores this process may use. Linux only; elsewhere, or with
 * one core, {@link pinningUnavailable} says why and the figures are left out.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { statFields } from './support-proc-stat';

/** Which cores the HSM's threads get and which the rest, as taskset lists. */
export interface CoreSplit {
  hsm: string;
  host: string;
  /** Every core this process was allowed at start, to go back to. */
  all: string;
}

/** The cores this process may run on (Cpus_allowed_list of /proc/self/status, expanded). */
function allowedCores(): number[] {
  const line = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  if (line === null) return [];
  return line[1]!.split(',').flatMap((range) => {
    const [from = 0, to = from] = range.split('-').map(Number);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** The last allowed core for the HSM's threads, the others for everything else. */
export function coreSplit(): CoreSplit {
  const cores = allowedCores();
  return {
    hsm: String(cores.at(-1)),
    host: cores.slice(0, -1).join(','),
    all: cores.join(','),
  };
}

/** Why pinning cannot be done here, or undefined when it can. */
export function pinningUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (allowedCores().length < 2) return 'one core';
  if (!['/usr/bin/taskset', '/bin/taskset'].some((p) => existsSync(p))) return 'no taskset';
  return undefined;
}

/** The nice value of each thread of `pid` (field 19 of its stat line). */
function threadNices(pid: number): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      nices.set(Number(tid), statFields(`${pid}/task/${tid}`)(19));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return nices;
}

function setAffinity(tid: number, cores: string): void {
  execFileSync('taskset', ['-p', '-c', cores, String(tid)], { stdio: 'ignore' });
}

/**
 * Pins the session threads of `pid` (nice above the main thread's) to `split.hsm` and its other
 * threads to `split.host`. Throws unless exactly `sessionThreads` were found, so that a change
 * in how the threads run cannot silently turn the figure into a shared-core one.
 */
export function pinProcess(pid: number, split: CoreSplit, sessionThreads: number): void {
  const nices = threadNices(pid);
  const loopNice = nices.get(pid)!;
  let found = 0;
  for (const [tid, nice] of nices) {
    const hsm = nice > loopNice;
    if (hsm) found++;
    setAffinity(tid, hsm ? split.hsm : split.host);
  }
  if (found !== sessionThreads) {
    throw new Error(`process ${pid}: ${found} session threads found, ${sessionThreads} expected`);
  }
}

/** Every thread of `pid` back on every core. */
export function unpinProcess(pid: number, split: CoreSplit): void {
  for (const tid of threadNices(pid).keys()) setAffinity(tid, split.all);
}
