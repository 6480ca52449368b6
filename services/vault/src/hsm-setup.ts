import path from 'node:path';
import { ensureDevToken, loadHsmConfig, openHsm, type Hsm } from '@bkv/hsm';
import type { Logger } from 'pino';
import type { VaultConfig } from './config';

export interface OpenRealmOptions {
  /** Create the realm keys when the token has none; `bkv vault init` sets it. */
  initialize?: boolean;
}

/**
 * Opens the realm's HSM. With `hsm.devToken` (the embedded default) the SoftHSM token is made
 * under `<dataDir>/softhsm` on first run and the realm initialised in it. With a real HSM the
 * realm must have been initialised once by `bkv vault init`: a vault that silently made a new
 * realm on a misconfigured token would leave every record unrecoverable.
 */
export async function openRealmHsm(
  config: VaultConfig,
  logger: Logger,
  options: OpenRealmOptions = {},
): Promise<Hsm> {
  const { hsm } = config;
  if (hsm.devToken) {
    const token = await ensureDevToken({
      dataDir: path.join(config.dataDir, 'softhsm'),
      tokenLabel: hsm.tokenLabel,
      modulePath: hsm.modulePath,
      poolSize: hsm.poolSize,
      threadNice: hsm.threadNice,
    });
    logger.info(
      { tokenLabel: hsm.tokenLabel, conf: token.confPath },
      'using the development token',
    );
    // Instances sharing this data folder take turns to initialise: one realm, for certain.
    const initializeLock = path.join(token.dataDir, `.realm-lock-${hsm.tokenLabel}`);
    return openHsm(token.config, { initialize: true, initializeLock });
  }
  const hsmConfig = loadHsmConfig({
    modulePath: hsm.modulePath,
    tokenLabel: hsm.tokenLabel,
    pinEnv: hsm.pinEnv,
    pinFile: hsm.pinFile,
    poolSize: hsm.poolSize,
    threadNice: hsm.threadNice,
  });
  return openHsm(hsmConfig, { initialize: options.initialize === true });
}
