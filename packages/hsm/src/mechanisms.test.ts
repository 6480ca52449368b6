/**
 * The mechanism check: what it finds missing in a table, and that it finds nothing missing in
 * SoftHSM, whose mechanisms every other test of the adapter uses.
 */
import * as pkcs11js from 'pkcs11js';
import { missingMechanisms, offeredMechanisms } from './mechanisms';
import { acquireModule, findSlotByLabel, releaseModule } from './module';
import { makeTestToken, type TestToken } from './testing';

const ALL_FUNCTIONS =
  pkcs11js.CKF_ENCRYPT |
  pkcs11js.CKF_DECRYPT |
  pkcs11js.CKF_SIGN |
  pkcs11js.CKF_GENERATE |
  pkcs11js.CKF_GENERATE_KEY_PAIR |
  pkcs11js.CKF_WRAP |
  pkcs11js.CKF_UNWRAP |
  pkcs11js.CKF_DERIVE;

const USED = [
  pkcs11js.CKM_EC_KEY_PAIR_GEN,
  pkcs11js.CKM_ECDH1_DERIVE,
  pkcs11js.CKM_AES_KEY_WRAP,
  pkcs11js.CKM_AES_GCM,
  pkcs11js.CKM_SHA256_HMAC,
  pkcs11js.CKM_AES_KEY_GEN,
  pkcs11js.CKM_GENERIC_SECRET_KEY_GEN,
];

/** Every mechanism the vault uses, each for every function, but as `changes` say. */
function offering(changes: Array<[number, number | undefined]> = []): Map<number, number> {
  const offered = new Map(USED.map((m) => [m, ALL_FUNCTIONS]));
  for (const [mechanism, flags] of changes) {
    if (flags === undefined) offered.delete(mechanism);
    else offered.set(mechanism, flags);
  }
  return offered;
}

describe('missingMechanisms', () => {
  it('finds nothing missing when everything is offered', () => {
    expect(missingMechanisms(offering(), true)).toEqual([]);
  });

  it('names a mechanism that is not offered, with what it is for', () => {
    expect(missingMechanisms(offering([[pkcs11js.CKM_ECDH1_DERIVE, undefined]]), false)).toEqual([
      'CKM_ECDH1_DERIVE, to derive (OPRF evaluation): not offered',
    ]);
  });

  it('names the functions a mechanism is offered without', () => {
    const wrapOnly = offering([[pkcs11js.CKM_AES_KEY_WRAP, pkcs11js.CKF_WRAP]]);
    expect(missingMechanisms(wrapOnly, false)).toEqual([
      'CKM_AES_KEY_WRAP, to wrap and unwrap (OPRF keys at rest): not to unwrap',
    ]);
    const none = offering([[pkcs11js.CKM_AES_GCM, 0]]);
    expect(missingMechanisms(none, false)).toEqual([
      'CKM_AES_GCM, to encrypt and decrypt (sealed records): not to encrypt and decrypt',
    ]);
  });

  it('asks for the key generation of the realm keys only when creating them', () => {
    const noKeyGen = offering([
      [pkcs11js.CKM_AES_KEY_GEN, undefined],
      [pkcs11js.CKM_GENERIC_SECRET_KEY_GEN, undefined],
    ]);
    expect(missingMechanisms(noKeyGen, false)).toEqual([]);
    expect(missingMechanisms(noKeyGen, true)).toEqual([
      'CKM_AES_KEY_GEN, to generate (the realm keys): not offered',
      'CKM_GENERIC_SECRET_KEY_GEN, to generate (the realm keys): not offered',
    ]);
  });

  it('lists every problem at once', () => {
    const offered = offering([
      [pkcs11js.CKM_EC_KEY_PAIR_GEN, undefined],
      [pkcs11js.CKM_SHA256_HMAC, pkcs11js.CKF_VERIFY],
    ]);
    expect(missingMechanisms(offered, false)).toEqual([
      'CKM_EC_KEY_PAIR_GEN, to generate key pairs (per-record OPRF keys): not offered',
      'CKM_SHA256_HMAC, to sign (tags): not to sign',
    ]);
  });
});

describe('offeredMechanisms on SoftHSM', () => {
  let token: TestToken;
  beforeAll(async () => (token = await makeTestToken()));
  afterAll(() => token.cleanup());

  it('reads the flags of the module, and SoftHSM lacks nothing the vault uses', () => {
    const lib = acquireModule(token.config.modulePath);
    try {
      const slot = findSlotByLabel(lib, token.config.tokenLabel)!;
      const offered = offeredMechanisms(lib, slot);
      expect(offered.get(pkcs11js.CKM_ECDH1_DERIVE)! & pkcs11js.CKF_DERIVE).toBeTruthy();
      // SoftHSM offers ECDSA signing, never encryption, with EC keys.
      expect(offered.get(pkcs11js.CKM_ECDSA)! & pkcs11js.CKF_ENCRYPT).toBe(0);
      expect(missingMechanisms(offered, true)).toEqual([]);
    } finally {
      releaseModule(token.config.modulePath);
    }
  });
});
