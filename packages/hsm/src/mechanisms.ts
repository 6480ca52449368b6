/**
 * What the vault asks of a PKCS#11 module, checked when a connection opens: a module that
 * lacks a mechanism would otherwise let the vault start and answer its first enrollment or
 * recovery with CKR_MECHANISM_INVALID. A module may offer a mechanism for some functions only
 * (the flags of C_GetMechanismInfo, PKCS#11 v2.40 §5.5), so the functions are checked too.
 */
import * as pkcs11js from 'pkcs11js';
import type { Handle, PKCS11 } from 'pkcs11js';

interface Need {
  mechanism: number;
  name: string;
  /** Every CKF_ function flag the vault uses the mechanism for. */
  flags: number;
  use: string;
  /** Needed only to create the realm's keys. */
  initOnly?: boolean;
}

const FUNCTIONS: Array<[number, string]> = [
  [pkcs11js.CKF_ENCRYPT, 'encrypt'],
  [pkcs11js.CKF_DECRYPT, 'decrypt'],
  [pkcs11js.CKF_SIGN, 'sign'],
  [pkcs11js.CKF_GENERATE, 'generate'],
  [pkcs11js.CKF_GENERATE_KEY_PAIR, 'generate key pairs'],
  [pkcs11js.CKF_WRAP, 'wrap'],
  [pkcs11js.CKF_UNWRAP, 'unwrap'],
  [pkcs11js.CKF_DERIVE, 'derive'],
];

const NEEDS: Need[] = [
  {
    mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN,
    name: 'CKM_EC_KEY_PAIR_GEN',
    flags: pkcs11js.CKF_GENERATE_KEY_PAIR,
    use: 'per-record OPRF keys',
  },
  {
    mechanism: pkcs11js.CKM_ECDH1_DERIVE,
    name: 'CKM_ECDH1_DERIVE',
    flags: pkcs11js.CKF_DERIVE,
    use: 'OPRF evaluation',
  },
  {
    mechanism: pkcs11js.CKM_AES_KEY_WRAP,
    name: 'CKM_AES_KEY_WRAP',
    flags: pkcs11js.CKF_WRAP | pkcs11js.CKF_UNWRAP,
    use: 'OPRF keys at rest',
  },
  {
    mechanism: pkcs11js.CKM_AES_GCM,
    name: 'CKM_AES_GCM',
    flags: pkcs11js.CKF_ENCRYPT | pkcs11js.CKF_DECRYPT,
    use: 'sealed records',
  },
  {
    mechanism: pkcs11js.CKM_SHA256_HMAC,
    name: 'CKM_SHA256_HMAC',
    flags: pkcs11js.CKF_SIGN,
    use: 'tags',
  },
  {
    mechanism: pkcs11js.CKM_AES_KEY_GEN,
    name: 'CKM_AES_KEY_GEN',
    flags: pkcs11js.CKF_GENERATE,
    use: 'the realm keys',
    initOnly: true,
  },
  {
    mechanism: pkcs11js.CKM_GENERIC_SECRET_KEY_GEN,
    name: 'CKM_GENERIC_SECRET_KEY_GEN',
    flags: pkcs11js.CKF_GENERATE,
    use: 'the realm keys',
    initOnly: true,
  },
];

/**
 * What is missing from `offered` (mechanism → its CKF_ flags), one phrase per mechanism:
 * "CKM_ECDH1_DERIVE, to derive (OPRF evaluation): not offered", or "..., to wrap and unwrap
 * (OPRF keys at rest): not to unwrap". Empty when nothing is.
 */
export function missingMechanisms(offered: Map<number, number>, initialize: boolean): string[] {
  const missing: string[] = [];
  for (const need of NEEDS) {
    if (need.initOnly === true && !initialize) continue;
    const flags = offered.get(need.mechanism);
    const used = FUNCTIONS.filter(([flag]) => (need.flags & flag) !== 0);
    const lacking = used.filter(([flag]) => flags === undefined || (flags & flag) === 0);
    if (lacking.length === 0) continue;
    const names = (fs: typeof used) => fs.map(([, name]) => name).join(' and ');
    const problem = flags === undefined ? 'not offered' : `not to ${names(lacking)}`;
    missing.push(`${need.name}, to ${names(used)} (${need.use}): ${problem}`);
  }
  return missing;
}

/** The mechanisms the token in `slot` offers, with their function flags. */
export function offeredMechanisms(lib: PKCS11, slot: Handle): Map<number, number> {
  const offered = new Map<number, number>();
  for (const mechanism of lib.C_GetMechanismList(slot)) {
    offered.set(mechanism, lib.C_GetMechanismInfo(slot, mechanism).flags);
  }
  return offered;
}
