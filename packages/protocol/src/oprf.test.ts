import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { p256_oprf } from '@noble/curves/nist.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { BkvError } from './errors';
import { fixedBlindSource, oprfBlind, oprfFinalize } from './oprf';

interface RfcVectors {
  seed: string;
  keyInfo: string;
  skSm: string;
  vectors: {
    input: string;
    blind: string;
    blindedElement: string;
    evaluationElement: string;
    output: string;
  }[];
}

const rfc = JSON.parse(
  readFileSync(join(__dirname, '../vectors/rfc9497-p256-sha256-oprf.json'), 'utf8'),
) as RfcVectors;

describe('RFC 9497 A.3.1 P256-SHA256 OPRF vectors', () => {
  let ran = 0;
  afterAll(() => expect(ran).toBe(2));

  it('derives the listed server key from the seed', () => {
    const keys = p256_oprf.oprf.deriveKeyPair(hexToBytes(rfc.seed), hexToBytes(rfc.keyInfo));
    expect(bytesToHex(keys.secretKey)).toBe(rfc.skSm);
  });

  it.each(rfc.vectors)('blinds and finalizes input $input as listed', (vector) => {
    const input = hexToBytes(vector.input);
    const blinding = oprfBlind(input, fixedBlindSource(hexToBytes(vector.blind)));
    expect(bytesToHex(blinding.blind)).toBe(vector.blind);
    expect(bytesToHex(blinding.blindedElement)).toBe(vector.blindedElement);

    const evaluated = p256_oprf.oprf.blindEvaluate(hexToBytes(rfc.skSm), blinding.blindedElement);
    expect(bytesToHex(evaluated)).toBe(vector.evaluationElement);

    const output = oprfFinalize(input, blinding.blind, hexToBytes(vector.evaluationElement));
    expect(bytesToHex(output)).toBe(vector.output);
    ran++;
  });
});

describe('oprfBlind', () => {
  it('draws its blind from the given random source', () => {
    const lengths: number[] = [];
    const random = (n: number) => {
      lengths.push(n);
      return new Uint8Array(n).fill(7);
    };
    const a = oprfBlind(new Uint8Array(32), random);
    const b = oprfBlind(new Uint8Array(32), random);
    expect(lengths).toEqual([48, 48]);
    expect(a.blindedElement).toEqual(b.blindedElement);
    expect(a.blindedElement).toHaveLength(33);
  });

  it('refuses a random source that returns the wrong length', () => {
    expect(() => oprfBlind(new Uint8Array(32), () => new Uint8Array(8))).toThrow(TypeError);
  });
});

describe('oprfFinalize', () => {
  const input = hexToBytes('00');
  const blind = hexToBytes(rfc.vectors[0]!.blind);

  it('refuses an uncompressed point as BAD_RESPONSE', () => {
    const point = p256_oprf.oprf.generateKeyPair().publicKey;
    const uncompressed = new Uint8Array(65);
    uncompressed.set(point.subarray(1), 1);
    uncompressed[0] = 4;
    expect(() => oprfFinalize(input, blind, uncompressed)).toThrow(BkvError);
  });

  it('refuses bytes that are not on the curve as BAD_RESPONSE', () => {
    const notOnCurve = new Uint8Array(33).fill(0xff);
    notOnCurve[0] = 2;
    let code: unknown;
    try {
      oprfFinalize(input, blind, notOnCurve);
    } catch (error) {
      code = (error as BkvError).code;
    }
    expect(code).toBe('BAD_RESPONSE');
  });

  it('refuses the identity encoded as a 33-byte string of zeros', () => {
    expect(() => oprfFinalize(input, blind, new Uint8Array(33))).toThrow(BkvError);
  });
});

describe('fixedBlindSource', () => {
  it('refuses zero, which is not a valid blind', () => {
    expect(() => fixedBlindSource(new Uint8Array(32))).toThrow(RangeError);
  });
});
