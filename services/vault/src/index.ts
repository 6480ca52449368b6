export { createAuthenticator, localSigningKey, mintLocalToken } from './auth';
export { ConfigError, defaultConfig, loadConfig, type VaultConfig } from './config';
export { createLogger } from './logger';
export { openRealmHsm } from './hsm-setup';
export { requestLog, type RequestLogLocals } from './http/request-log';
export { openStore } from './store';
export type * from './store/store';
export type { Policy, UseCaseDeps, VaultEvents } from './use-cases/deps';
export { startVault, storeSettings, type RunningVault, type VaultOptions } from './vault';
