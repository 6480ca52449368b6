/**
 * OPRF evaluation inside SoftHSM: the RFC 9497 vectors, agreement with @noble/curves on random
 * inputs, refusal of bad inputs before the HSM, and no session objects left behind.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { p256, p256_oprf } from '@noble/curves/nist.js';
import * as pkcs11js from 'pkcs11js';
import { BkvError } from '@bkv/protocol';
import {
  countSessionObjects,
  findRaw,
  openTestHsm,
  withRawSession,
  type TestHsm,
  type TestToken,
} from './testing';
import type { Pkcs11Hsm } from './pkcs11-hsm';
import { UNWRAPPED_OPRF_KEY } from './templates';

interface Vector {
  input: string;
  blindedElement: string;
  evaluationElement: string;
}
const suite = JSON.parse(
  readFileSync(join(__dirname, 'vectors', 'rfc9497-p256-oprf.json'), 'utf8'),
) as { seed: string; keyInfo: string; skSm: string; vectors: Vector[] };

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

let token: TestToken;
let hsm: Pkcs11Hsm;
let close: TestHsm['close'] | undefined;

beforeAll(async () => ({ token, hsm, close } = await openTestHsm()));
afterAll(() => close?.());

async function expectBadInput(promise: Promise<unknown>): Promise<void> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BkvError);
  expect((err as BkvError).code).toBe('HSM_BAD_INPUT');
}

describe('evaluateOprf', () => {
  it('reproduces every RFC 9497 A.3.1 P256-SHA256 OPRF vector, key imported', async () => {
    // The vector key is the one RFC 9497 §3.2.1 DeriveKeyPair gives for the seed and info.
    const derived = p256_oprf.oprf.deriveKeyPair(hex(suite.seed), hex(suite.keyInfo));
    expect(toHex(derived.secretKey)).toBe(suite.skSm);

    const key = await hsm.importOprfKey(hex(suite.skSm));
    let ran = 0;
    for (const vector of suite.vectors) {
      const evaluated = await hsm.evaluateOprf(key, hex(vector.blindedElement));
      expect(toHex(evaluated)).toBe(vector.evaluationElement);
      ran += 1;
    }
    expect(ran).toBe(2);
  });

  it('agrees with noble p256_oprf BlindEvaluate on 500 random inputs and keys', async () => {
    let agreed = 0;
    for (let k = 0; k < 10; k++) {
      const { secretKey } = p256_oprf.oprf.generateKeyPair();
      const key = await hsm.importOprfKey(secretKey);
      const blinded = Array.from(
        { length: 50 },
        () => p256_oprf.oprf.blind(randomBytes(20)).blinded,
      );
      const evaluated = await Promise.all(blinded.map((b) => hsm.evaluateOprf(key, b)));
      evaluated.forEach((z, i) => {
        expect(toHex(z)).toBe(toHex(p256_oprf.oprf.blindEvaluate(secretKey, blinded[i]!)));
        agreed += 1;
      });
    }
    expect(agreed).toBe(500);
  });

  it('evaluates B = G and B = -G, where sign recovery takes its rare paths', async () => {
    const { secretKey } = p256_oprf.oprf.generateKeyPair();
    const key = await hsm.importOprfKey(secretKey);
    const edges = [p256.Point.BASE, p256.Point.BASE.negate(), p256.Point.BASE.double()];
    for (const point of edges) {
      const blinded = point.toBytes(true);
      const expected = p256_oprf.oprf.blindEvaluate(secretKey, blinded);
      expect(toHex(await hsm.evaluateOprf(key, blinded))).toBe(toHex(expected));
    }
  });

  it('gives the same OPRF output twice for an HSM-made key, whatever the blind', async () => {
    const key = await hsm.makeOprfKey();
    expect(key.publicKey).toHaveLength(65);
    const input = randomBytes(16);
    const outputs = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const { blind, blinded } = p256_oprf.oprf.blind(input);
      const z = await hsm.evaluateOprf(key, blinded);
      outputs.add(toHex(p256_oprf.oprf.finalize(input, blind, z)));
    }
    expect(outputs.size).toBe(1);
  });

  it('refuses malformed encodings, the identity and off-curve points before the HSM', async () => {
    const key = await hsm.makeOprfKey();
    const good = p256_oprf.oprf.blind(Uint8Array.of(1)).blinded;
    const offCurve = firstOffCurveEncoding();
    const uncompressed = p256.Point.fromBytes(good).toBytes(false);
    const cases = [
      new Uint8Array(0),
      Uint8Array.of(0),
      good.subarray(0, 32),
      uncompressed,
      offCurve,
    ];
    // An x at or above the field prime is no coordinate at all.
    cases.push(Uint8Array.of(0x02, ...new Uint8Array(32).fill(0xff)));
    for (const bad of cases) await expectBadInput(hsm.evaluateOprf(key, bad));
    expect(await countSessionObjects(token.config)).toBe(0);
  });

  it('refuses bad wrapped keys and a foreign public key, leaving no objects', async () => {
    const key = await hsm.makeOprfKey();
    const other = await hsm.makeOprfKey();
    const blinded = p256_oprf.oprf.blind(Uint8Array.of(2)).blinded;
    const flipped = Uint8Array.from(key.wrappedKey);
    flipped[10] = flipped[10]! ^ 0x80;
    const bad = [
      { ...key, wrappedKey: flipped },
      { ...key, wrappedKey: key.wrappedKey.subarray(0, 13) },
      { ...key, wrappedKey: new Uint8Array(0) },
      { ...key, publicKey: other.publicKey },
      { ...key, publicKey: key.publicKey.subarray(1) },
      { ...key, wrapKeyId: 99 },
    ];
    for (const k of bad) await expectBadInput(hsm.evaluateOprf(k, blinded));
    expect(await countSessionObjects(token.config)).toBe(0);
    // And the adapter still works afterwards on a good key.
    expect(await hsm.evaluateOprf(key, blinded)).toHaveLength(33);
  });

  it('unwraps an OPRF key whose CKA_VALUE cannot be read', async () => {
    const key = await hsm.makeOprfKey();
    await withRawSession(token.config, (lib, session) => {
      const [wrap] = findRaw(lib, session, [
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_LABEL, value: `${token.config.keyLabelPrefix}wrap.g1` },
      ]);
      const mechanism = { mechanism: pkcs11js.CKM_AES_KEY_WRAP };
      const handle = lib.C_UnwrapKey(
        session,
        mechanism,
        wrap!,
        Buffer.from(key.wrappedKey),
        UNWRAPPED_OPRF_KEY,
      );
      expect(() =>
        lib.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_VALUE }]),
      ).toThrow('CKR_ATTRIBUTE_SENSITIVE');
      lib.C_DestroyObject(session, handle);
    });
  });
});

/** `02 || x` for the smallest x with no point on P-256 (x³ - 3x + b is not a square). */
function firstOffCurveEncoding(): Uint8Array {
  for (let x = 1; ; x++) {
    const bytes = Uint8Array.of(0x02, ...new Uint8Array(31), x);
    try {
      p256.Point.fromBytes(bytes);
    } catch {
      return bytes;
    }
  }
}
