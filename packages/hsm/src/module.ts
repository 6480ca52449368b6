/**
 * Loading and initialising a PKCS#11 module, once per module path per process. Several `Hsm`s
 * in one process (two realms, or tests) share the loaded module and count their references; the
 * last to close finalises it. The registry also counts the calls running on the thread pool, so
 * that a reset (C_Finalize, C_Initialize) never pulls the module from under one of them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as pkcs11js from 'pkcs11js';
import { toBkvError } from './errors';

interface Loaded {
  lib: pkcs11js.PKCS11;
  refs: number;
  /** False when someone else in the process (graphene, another loader) initialised it first. */
  ownsInit: boolean;
  /** Grows at each reset: handles and sessions from an older epoch are dead. */
  epoch: number;
  inFlight: number;
  resetting: Promise<boolean> | undefined;
  lastReset: number;
}

/** At most one reset per this interval while a token stays away. */
const RESET_INTERVAL_MS = 1_000;
/** How long a reset waits for calls in flight to finish. */
const RESET_DRAIN_MS = 5_000;

const loaded = new Map<string, Loaded>();

/**
 * Returns the module at `modulePath`, initialised with CKF_OS_LOCKING_OK (PKCS#11 v2.40 §5.4:
 * the library may be called from several threads, which the async calls on the libuv pool do).
 * Pair every call with {@link releaseModule}.
 */
export function acquireModule(modulePath: string): pkcs11js.PKCS11 {
  const existing = loaded.get(modulePath);
  if (existing !== undefined) {
    existing.refs += 1;
    return existing.lib;
  }
  const lib = new pkcs11js.PKCS11();
  let ownsInit = true;
  try {
    lib.load(modulePath);
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (err) {
    if (err instanceof Error && err.message === 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      ownsInit = false;
    } else {
      throw toBkvError(err, 'module load');
    }
  }
  loaded.set(modulePath, {
    lib,
    refs: 1,
    ownsInit,
    epoch: 0,
    inFlight: 0,
    resetting: undefined,
    lastReset: 0,
  });
  return lib;
}

/** The module's current epoch (see {@link resetModule}). */
export function moduleEpoch(modulePath: string): number {
  return loaded.get(modulePath)?.epoch ?? -1;
}

/** Marks a call that will run on the thread pool; waits while a reset is under way. */
export async function enterModule(modulePath: string): Promise<void> {
  const entry = loaded.get(modulePath);
  if (entry === undefined) return;
  if (entry.resetting !== undefined) await entry.resetting;
  entry.inFlight += 1;
}

export function leaveModule(modulePath: string): void {
  const entry = loaded.get(modulePath);
  if (entry !== undefined) entry.inFlight -= 1;
}

/**
 * Finalises and re-initialises the module, the one way to see a token that vanished and came
 * back (SoftHSM marks such a token invalid until then; network HSM clients also want a fresh
 * C_Initialize after losing their device). Every session and handle of the process dies, so
 * every adapter on this module reconnects. Only when this process initialised the module, at
 * most once per second, and after the calls in flight drained. Resolves whether it reset.
 */
export async function resetModule(modulePath: string): Promise<boolean> {
  const entry = loaded.get(modulePath);
  if (entry === undefined || !entry.ownsInit) return false;
  if (entry.resetting !== undefined) return entry.resetting;
  if (Date.now() - entry.lastReset < RESET_INTERVAL_MS) return false;
  entry.lastReset = Date.now();
  entry.resetting = (async () => {
    const deadline = Date.now() + RESET_DRAIN_MS;
    while (entry.inFlight > 0) {
      if (Date.now() > deadline) return false;
      await sleep(5);
    }
    try {
      entry.lib.C_Finalize();
    } catch {
      // A module that lost its device may refuse to finalise cleanly; initialise anyway.
    }
    entry.epoch += 1;
    try {
      entry.lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
      return true;
    } catch {
      return false;
    }
  })().finally(() => (entry.resetting = undefined));
  return entry.resetting;
}

/** Drops one reference; the last one finalises the module and unloads it. */
export function releaseModule(modulePath: string): void {
  const entry = loaded.get(modulePath);
  if (entry === undefined) return;
  entry.refs -= 1;
  if (entry.refs > 0) return;
  loaded.delete(modulePath);
  try {
    if (entry.ownsInit) entry.lib.C_Finalize();
    entry.lib.close();
  } catch {
    // Finalising a module whose token vanished can fail; the process no longer needs it.
  }
}

/** A token label as PKCS#11 stores it: 32 bytes padded with blanks (§3.2, CK_TOKEN_INFO). */
export function padLabel(label: string): string {
  return label.padEnd(32, ' ');
}

/** The slot whose initialised token carries `label`, or undefined. Slot numbers are not stable. */
export function findSlotByLabel(lib: pkcs11js.PKCS11, label: string): Buffer | undefined {
  for (const slot of lib.C_GetSlotList(true)) {
    try {
      const info = lib.C_GetTokenInfo(slot);
      const initialised = (info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) !== 0;
      if (initialised && trimLabel(info.label) === label) return slot;
    } catch {
      // A slot whose token is half gone answers with an error; it is not ours.
    }
  }
  return undefined;
}

/** Strips the blank (and, from some modules, NUL) padding of a fixed-width label. */
export function trimLabel(label: string): string {
  return label.replace(/[\0 ]+$/, '');
}
