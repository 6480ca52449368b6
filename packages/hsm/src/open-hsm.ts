/** The entry point: load the module, connect to the token, find (or create) the realm. */
import type { HsmConfig } from './config';
import { Connection } from './connection';
import { acquireModule, releaseModule } from './module';
import { Pkcs11Hsm } from './pkcs11-hsm';

export interface OpenHsmOptions {
  /**
   * Create the realm keys when the token has none (idempotent, safe against a concurrent
   * initialiser). Without it, a token with no realm fails with HSM_AUTH_FAILED.
   */
  initialize?: boolean;
}

/**
 * Opens the realm in the token that `config` names. Rejects with a `BkvError`: HSM_UNAVAILABLE
 * (module or token not there, retry later), HSM_AUTH_FAILED (wrong PIN, or no realm and not
 * `initialize`). Call `close()` on the result when done.
 */
export async function openHsm(config: HsmConfig, options: OpenHsmOptions = {}): Promise<Pkcs11Hsm> {
  const lib = acquireModule(config.modulePath);
  try {
    const first = await Connection.open(lib, config, options.initialize === true);
    return new Pkcs11Hsm(lib, config, first);
  } catch (err) {
    releaseModule(config.modulePath);
    throw err;
  }
}
