/** The entry point: load the module, connect to the token, find (or create) the realm. */
import { setTimeout as sleep } from 'node:timers/promises';
import { BkvError } from '@bkv/protocol';
import type { HsmConfig } from './config';
import { Connection } from './connection';
import { withFileLock } from './file-lock';
import { acquireModule, releaseModule } from './module';
import { Pkcs11Hsm } from './pkcs11-hsm';

export interface OpenHsmOptions {
  /**
   * Create the realm keys when the token has none (idempotent, safe against a concurrent
   * initialiser). Without it, a token with no realm fails with HSM_AUTH_FAILED.
   */
  initialize?: boolean;
  /**
   * How long to keep trying while the token answers HSM_UNAVAILABLE (default 5,000 ms): a
   * network HSM may still be connecting, and SoftHSM can fail to read a token folder that
   * another process is writing at that moment.
   */
  connectTimeoutMs?: number;
  /**
   * A lock folder shared by every process that may initialise the same token at once (for a
   * SoftHSM token, a path in its data folder). With it, initialisation is serialised and one
   * realm results for certain. Without it, concurrent initialisers are reconciled by the
   * realm's settle rule, which a process stalled past the settle time can defeat: on a network
   * HSM, initialise once with `bkv vault init` before starting instances.
   */
  initializeLock?: string;
}

/**
 * Opens the realm in the token that `config` names. Rejects with a `BkvError`: HSM_UNAVAILABLE
 * (module or token not there, retry later), HSM_AUTH_FAILED (wrong PIN, a module without a
 * mechanism the vault uses, or no realm and not `initialize`). Call `close()` on the result when
 * done.
 */
export async function openHsm(config: HsmConfig, options: OpenHsmOptions = {}): Promise<Pkcs11Hsm> {
  if (options.initialize === true && options.initializeLock !== undefined) {
    const { initializeLock, ...rest } = options;
    return withFileLock(initializeLock, () => openHsm(config, rest));
  }
  const lib = acquireModule(config.modulePath);
  const deadline = Date.now() + (options.connectTimeoutMs ?? 5_000);
  for (let delay = 100; ; delay = Math.min(2 * delay, 1_000)) {
    try {
      const first = await Connection.open(lib, config, options.initialize === true);
      return new Pkcs11Hsm(lib, config, first);
    } catch (err) {
      const retry = err instanceof BkvError && err.code === 'HSM_UNAVAILABLE';
      if (!retry || Date.now() + delay > deadline) {
        releaseModule(config.modulePath);
        throw err;
      }
      await sleep(delay);
    }
  }
}
