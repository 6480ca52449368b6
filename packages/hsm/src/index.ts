/**
 * @bkv/hsm: the only code in the project that speaks PKCS#11. Load a config, open the realm,
 * use the `Hsm` interface. Test helpers live in the separate entry `@bkv/hsm/testing`.
 */
export type { Hsm, WrappedOprfKey } from './hsm';
export {
  defaultPoolSize,
  hsmConfigInputSchema,
  loadHsmConfig,
  type HsmConfig,
  type HsmConfigInput,
} from './config';
export { Secret } from './secret';
export { openHsm, type OpenHsmOptions } from './open-hsm';
export { Pkcs11Hsm } from './pkcs11-hsm';
export {
  ensureDevToken,
  findSoftHsmModule,
  type DevToken,
  type DevTokenOptions,
} from './dev-token';
export { CKR_TO_CODE, toBkvError } from './errors';
export { isCompressedPoint } from './points';
