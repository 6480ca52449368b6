/**
 * One live connection to the token: its slot, a pool of logged-in sessions, the realm's cached
 * key handles, and a session that holds the realm keys' session copies for as long as the
 * connection lives. PKCS#11 allows one operation at a time per session (v2.40 §5.6), so each
 * operation borrows a session and gives it back. When the token or a session breaks, the owner
 * retires the whole connection and opens a new one (new slot lookup, sessions, login, handles).
 */
import * as pkcs11js from 'pkcs11js';
import type { Handle, PKCS11 } from 'pkcs11js';
import { BkvError } from '@bkv/protocol';
import type { HsmConfig } from './config';
import { toBkvError } from './errors';
import { missingMechanisms, offeredMechanisms } from './mechanisms';
import { findSlotByLabel, moduleEpoch, resetModule } from './module';
import {
  findOrCreateRealm,
  findRealm,
  sessionCopies,
  type RealmKeys,
  type WorkingKeys,
} from './realm';

const SESSION_FLAGS = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION;

export class Connection {
  readonly #idle: Handle[];
  readonly #waiters: Array<{ resolve: (s: Handle) => void; reject: (e: Error) => void }> = [];
  #retired = false;

  private constructor(
    readonly lib: PKCS11,
    readonly slot: Handle,
    sessions: Handle[],
    /** The realm's token objects. */
    readonly realm: RealmKeys,
    /** What operations use: see {@link sessionCopies}. */
    readonly keys: WorkingKeys,
    /** Never lent: closing it would destroy the copies in `keys`. */
    private readonly keeper: Handle,
    /** The module epoch these sessions and handles belong to. */
    readonly epoch: number,
    private readonly modulePath: string,
  ) {
    this.#idle = sessions;
  }

  /**
   * Finds the token by label, opens `poolSize` sessions and the keeper, logs in once (login
   * state is shared by all sessions of the process, §6.7.1), finds the realm, creating it when
   * `initialize`, and copies its keys into the keeper session.
   */
  static async open(lib: PKCS11, config: HsmConfig, initialize: boolean): Promise<Connection> {
    // A token that went away stays invisible until the module is re-initialised.
    let slot = findSlotByLabel(lib, config.tokenLabel);
    if (slot === undefined && (await resetModule(config.modulePath))) {
      slot = findSlotByLabel(lib, config.tokenLabel);
    }
    if (slot === undefined) {
      throw new BkvError('HSM_UNAVAILABLE', `no token labelled ${config.tokenLabel}`);
    }
    refuseMissingMechanisms(lib, slot, config.tokenLabel, initialize);
    const epoch = moduleEpoch(config.modulePath);
    const sessions: Handle[] = [];
    let keeper: Handle | undefined;
    try {
      keeper = lib.C_OpenSession(slot, SESSION_FLAGS);
      for (let i = 0; i < config.poolSize; i++)
        sessions.push(lib.C_OpenSession(slot, SESSION_FLAGS));
      login(lib, keeper, config);
      const realm = initialize
        ? await findOrCreateRealm(lib, keeper, config.keyLabelPrefix)
        : findRealm(lib, keeper, config.keyLabelPrefix);
      if (realm === undefined) {
        throw new BkvError('HSM_AUTH_FAILED', 'the realm is not initialised in this token');
      }
      const keys = sessionCopies(lib, keeper, realm);
      return new Connection(lib, slot, sessions, realm, keys, keeper, epoch, config.modulePath);
    } catch (err) {
      for (const session of sessions) closeQuietly(lib, session);
      if (keeper !== undefined) closeQuietly(lib, keeper);
      throw toBkvError(err, 'connect');
    }
  }

  /** A session for one operation; waits in order when all are busy. */
  acquire(): Promise<Handle> {
    if (this.#retired) return Promise.reject(new BkvError('HSM_UNAVAILABLE', 'connection retired'));
    const session = this.#idle.pop();
    if (session !== undefined) return Promise.resolve(session);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /**
   * Gives a session back. A session whose operation failed inside the HSM is replaced rather
   * than reused, so that no half-finished operation state carries over to the next caller.
   */
  release(session: Handle, suspect: boolean): void {
    if (this.#stale()) {
      this.retire();
      return;
    }
    let next: Handle | undefined = session;
    if (suspect || this.#retired) {
      // Open the replacement first: closing a process's last session logs it out (§5.6).
      next = this.#retired ? undefined : this.#reopen();
      closeQuietly(this.lib, session);
    }
    if (next === undefined) return;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(next);
    else this.#idle.push(next);
  }

  /** Stops lending sessions and closes the idle ones; busy ones close on release. */
  retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    // After a module reset the old handles may name new sessions: leave them alone.
    const idle = this.#idle.splice(0);
    if (!this.#stale())
      for (const session of [...idle, this.keeper]) closeQuietly(this.lib, session);
    const gone = new BkvError('HSM_UNAVAILABLE', 'connection retired');
    for (const waiter of this.#waiters.splice(0)) waiter.reject(gone);
  }

  get retired(): boolean {
    return this.#retired;
  }

  #stale(): boolean {
    return moduleEpoch(this.modulePath) !== this.epoch;
  }

  #reopen(): Handle | undefined {
    try {
      return this.lib.C_OpenSession(this.slot, SESSION_FLAGS);
    } catch {
      // The token is going away: a pool that cannot refill must not leave waiters hanging.
      this.retire();
      return undefined;
    }
  }
}

/** C_Login as the normal user; "already logged in" means another session of ours did it. */
function login(lib: PKCS11, session: Handle, config: HsmConfig): void {
  try {
    lib.C_Login(session, pkcs11js.CKU_USER, config.pin.reveal());
  } catch (err) {
    if (err instanceof Error && err.message === 'CKR_USER_ALREADY_LOGGED_IN') return;
    throw err;
  }
}

/**
 * Refuses a token that cannot do the vault's work, before anything is opened or created in it.
 * Not retryable: the module has to change, which is the operator's to fix.
 */
function refuseMissingMechanisms(lib: PKCS11, slot: Handle, label: string, initialize: boolean) {
  let missing: string[];
  try {
    missing = missingMechanisms(offeredMechanisms(lib, slot), initialize);
  } catch (err) {
    throw toBkvError(err, 'connect');
  }
  if (missing.length > 0) {
    throw new BkvError(
      'HSM_AUTH_FAILED',
      `the PKCS#11 module cannot do the vault's work with token ${label}: ${missing.join('; ')}`,
    );
  }
}

function closeQuietly(lib: PKCS11, session: Handle): void {
  try {
    lib.C_CloseSession(session);
  } catch {
    // Already closed with its token.
  }
}
