/**
 * The adapter's other operations and its realm against a real SoftHSM token: sealing, MACs,
 * randomness, key secrecy, idempotent and race-safe initialisation, and heavy concurrency.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { p256_oprf } from '@noble/curves/nist.js';
import * as pkcs11js from 'pkcs11js';
import { BkvError } from '@bkv/protocol';
import { findRaw, makeTestToken, openTestHsm, withRawSession } from './testing';
import type { TestHsm, TestToken } from './testing';
import { openHsm } from './open-hsm';
import type { Pkcs11Hsm } from './pkcs11-hsm';

const utf8 = (s: string) => new TextEncoder().encode(s);

let token: TestToken;
let hsm: Pkcs11Hsm;
let close: TestHsm['close'] | undefined;

beforeAll(async () => ({ token, hsm, close } = await openTestHsm()));
afterAll(() => close?.());

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => (e instanceof BkvError ? e.code : String(e)),
  );
}

describe('seal and open', () => {
  it('opens what it sealed, with a fresh nonce each time', async () => {
    const a = await hsm.seal(utf8('secret'), utf8('aad'));
    const b = await hsm.seal(utf8('secret'), utf8('aad'));
    expect(a).toHaveLength(12 + 6 + 16);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(new TextDecoder().decode(await hsm.open(a, utf8('aad')))).toBe('secret');
  });

  it('refuses another AAD, a flipped bit and a short blob with HSM_BAD_INPUT', async () => {
    const sealed = await hsm.seal(utf8('secret'), utf8('user-1'));
    const flipped = Uint8Array.from(sealed);
    flipped[20] = flipped[20]! ^ 1;
    expect(await codeOf(hsm.open(sealed, utf8('user-2')))).toBe('HSM_BAD_INPUT');
    expect(await codeOf(hsm.open(flipped, utf8('user-1')))).toBe('HSM_BAD_INPUT');
    expect(await codeOf(hsm.open(sealed.subarray(0, 27), utf8('user-1')))).toBe('HSM_BAD_INPUT');
    // The session that saw the refusal was replaced; sealing still works.
    expect(await hsm.open(await hsm.seal(utf8('x'), utf8('y')), utf8('y'))).toHaveLength(1);
  });
});

describe('mac, random and ping', () => {
  it('verifies its own MAC and refuses a changed message or tag', async () => {
    const tag = await hsm.mac(utf8('counter=3'));
    expect(tag).toHaveLength(32);
    expect(await hsm.verifyMac(utf8('counter=3'), tag)).toBe(true);
    expect(await hsm.verifyMac(utf8('counter=2'), tag)).toBe(false);
    expect(await hsm.verifyMac(utf8('counter=3'), tag.subarray(1))).toBe(false);
  });

  it('returns random bytes of the asked length and refuses silly lengths', async () => {
    const r = await hsm.random(32);
    expect(r).toHaveLength(32);
    expect(Buffer.from(r).equals(Buffer.from(await hsm.random(32)))).toBe(false);
    expect(await codeOf(hsm.random(0))).toBe('HSM_BAD_INPUT');
    expect(await codeOf(hsm.random(1.5))).toBe('HSM_BAD_INPUT');
  });

  it('answers ping while the token is there', async () => {
    await expect(hsm.ping()).resolves.toBeUndefined();
  });
});

describe('realm', () => {
  /** The token object and the session copies of each realm key, by role. */
  const realmKeyObjects = () =>
    withRawSession(token.config, (lib, session) =>
      ['wrap', 'seal', 'mac'].map((role) =>
        findRaw(lib, session, [
          { type: pkcs11js.CKA_LABEL, value: `${token.config.keyLabelPrefix}${role}.g1` },
        ]),
      ),
    );

  it('never lets the value of a realm key or of its session copy be read', async () => {
    await withRawSession(token.config, (lib, session) => {
      for (const role of ['wrap', 'seal', 'mac']) {
        const keys = findRaw(lib, session, [
          { type: pkcs11js.CKA_LABEL, value: `${token.config.keyLabelPrefix}${role}.g1` },
        ]);
        const tokenFlags = keys.map(
          (key) => lib.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_TOKEN }])[0]!.value,
        );
        // One token object, and the copy this file's adapter works with.
        expect(tokenFlags.map((flag) => flag[0]).sort()).toEqual([0, 1]);
        for (const key of keys) {
          expect(() =>
            lib.C_GetAttributeValue(session, key, [{ type: pkcs11js.CKA_VALUE }]),
          ).toThrow('CKR_ATTRIBUTE_SENSITIVE');
          const [extractable] = lib.C_GetAttributeValue(session, key, [
            { type: pkcs11js.CKA_EXTRACTABLE },
          ]);
          expect(extractable!.value[0]).toBe(0);
        }
      }
    });
  });

  it('copies the realm keys for each connection and destroys the copies on close', async () => {
    const before = (await realmKeyObjects()).map((keys) => keys.length);
    const second = await openHsm(token.config);
    expect((await realmKeyObjects()).map((keys) => keys.length)).toEqual(before.map((n) => n + 1));
    await second.close();
    expect((await realmKeyObjects()).map((keys) => keys.length)).toEqual(before);
  });

  it('opens the same realm again, with or without initialize', async () => {
    const again = await openHsm(token.config, { initialize: true });
    const plain = await openHsm(token.config);
    try {
      expect(Buffer.from(again.realmId).equals(Buffer.from(hsm.realmId))).toBe(true);
      expect(Buffer.from(plain.realmId).equals(Buffer.from(hsm.realmId))).toBe(true);
      // A key made by one adapter evaluates in the other.
      const key = await again.makeOprfKey();
      const blinded = p256_oprf.oprf.blind(utf8('x')).blinded;
      expect(await plain.evaluateOprf(key, blinded)).toEqual(await hsm.evaluateOprf(key, blinded));
    } finally {
      await again.close();
      await plain.close();
    }
  });

  it('refuses to open a token without a realm unless asked to initialise', async () => {
    const fresh = await makeTestToken();
    try {
      expect(await codeOf(openHsm(fresh.config))).toBe('HSM_AUTH_FAILED');
    } finally {
      await fresh.cleanup();
    }
  });

  it('ends with one realm when several initialisers race on an empty token', async () => {
    const fresh = await makeTestToken();
    const racers = await Promise.all(
      [1, 2, 3].map(() => openHsm(fresh.config, { initialize: true })),
    );
    try {
      const ids = new Set(racers.map((r) => Buffer.from(r.realmId).toString('hex')));
      expect(ids.size).toBe(1);
      const markers = await withRawSession(fresh.config, (lib, session) =>
        findRaw(lib, session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA }]),
      );
      expect(markers).toHaveLength(1);
      const keys = await withRawSession(fresh.config, (lib, session) =>
        findRaw(lib, session, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
          { type: pkcs11js.CKA_TOKEN, value: true },
        ]),
      );
      expect(keys).toHaveLength(3);
    } finally {
      for (const r of racers) await r.close();
      await fresh.cleanup();
    }
  });

  it('refuses a wrong PIN with HSM_AUTH_FAILED', async () => {
    const fresh = await makeTestToken();
    try {
      const wrong = { ...fresh.config, pin: { reveal: () => 'not-the-pin' } } as never;
      expect(await codeOf(openHsm(wrong, { initialize: true }))).toBe('HSM_AUTH_FAILED');
    } finally {
      await fresh.cleanup();
    }
  });
});

describe('concurrency', () => {
  it('completes 2,000 concurrent operations without stalling the event loop', async () => {
    const key = await hsm.makeOprfKey();
    const blinded = p256_oprf.oprf.blind(utf8('load')).blinded;
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const ops = Array.from({ length: 2000 }, (_, i) => {
      switch (i % 4) {
        case 0:
          return hsm.evaluateOprf(key, blinded);
        case 1:
          return hsm.seal(utf8(`payload ${i}`), utf8('aad'));
        case 2:
          return hsm.mac(utf8(`event ${i}`));
        default:
          return hsm.random(16);
      }
    });
    const results = await Promise.all(ops);
    delay.disable();
    const maxMs = delay.max / 1e6;
    console.log(`2,000 concurrent HSM operations: longest event-loop stall ${maxMs.toFixed(1)} ms`);
    expect(results).toHaveLength(2000);
    // Generous: a blocking adapter stalls for the whole batch (seconds).
    expect(maxMs).toBeLessThan(500);
  });
});
