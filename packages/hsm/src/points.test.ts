/**
 * The evaluation plan without an HSM: the two ECDH answers are computed here with
 * @noble/curves from a known scalar, so that the fast path and the general path are both held
 * against plain point multiplication, special cases included.
 */
import { randomBytes } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { BkvError, noblePointCheck } from '@bkv/protocol';
import { isCompressedPoint, planEvaluation } from './points';

const { Point } = p256;
type Point = InstanceType<typeof p256.Point>;
const n = Point.CURVE().n;

const randomScalar = () => (BigInt(`0x${randomBytes(32).toString('hex')}`) % (n - 1n)) + 1n;
const xBytes = (point: Point) => point.toBytes(true).subarray(1);

/** What an HSM holding `k` answers: the x-coordinates of k·first and k·second. */
function evaluate(k: bigint, blinded: Point): { expected: Uint8Array; got: Uint8Array } {
  const plan = planEvaluation(blinded.toBytes(true), Point.BASE.multiply(k).toBytes(false));
  const first = Point.fromBytes(plan.first);
  const second = Point.fromBytes(plan.second);
  expect(first.equals(blinded)).toBe(true);
  return {
    expected: blinded.multiply(k).toBytes(true),
    got: plan.finish(xBytes(first.multiply(k)), xBytes(second.multiply(k))),
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof BkvError ? err.code : String(err);
  }
}

describe('planEvaluation', () => {
  it('recovers k·B for 300 random keys and inputs', () => {
    let ran = 0;
    for (let i = 0; i < 300; i++) {
      const { expected, got } = evaluate(randomScalar(), Point.BASE.multiply(randomScalar()));
      expect(got).toEqual(expected);
      ran += 1;
    }
    expect(ran).toBe(300);
  });

  it.each([
    ['B = G, where B + G is a doubling', 1n],
    ['B = -G, where B + G is the identity', n - 1n],
    ['B = 2G', 2n],
    ['B = -2G', n - 2n],
  ])('recovers k·B for %s', (_why, multiple) => {
    const { expected, got } = evaluate(randomScalar(), Point.BASE.multiply(multiple));
    expect(got).toEqual(expected);
  });

  it('recovers k·B when k·B = ±P, where the chord rule divides by zero', () => {
    const k = randomScalar();
    for (const blinded of [Point.BASE.multiply(1n), Point.BASE.multiply(n - 1n)]) {
      // B = ±G makes k·B = ±P: the offset shares its x-coordinate.
      const { expected, got } = evaluate(k, blinded);
      expect(got).toEqual(expected);
    }
  });

  it('refuses malformed blinded elements before any arithmetic', () => {
    const publicKey = Point.BASE.multiply(randomScalar()).toBytes(false);
    const good = Point.BASE.multiply(randomScalar()).toBytes(true);
    const offCurve = Uint8Array.from(good);
    // Half of all x have no point; step x until one has none.
    for (let x = 1n; ; x++) {
      offCurve.set(Buffer.from(x.toString(16).padStart(64, '0'), 'hex'), 1);
      if (codeOf(() => Point.fromBytes(offCurve)) !== undefined) break;
    }
    const aboveP = Uint8Array.of(0x02, ...new Uint8Array(32).fill(0xff));
    for (const bad of [
      good.subarray(0, 32),
      Uint8Array.of(0x04, ...good.subarray(1)),
      Point.BASE.toBytes(false),
      offCurve,
      aboveP,
      Uint8Array.of(0x00),
    ]) {
      expect(codeOf(() => planEvaluation(bad, publicKey))).toBe('HSM_BAD_INPUT');
    }
  });

  it('refuses a stored public key that is not a point of the curve', () => {
    const blinded = Point.BASE.multiply(randomScalar()).toBytes(true);
    const publicKey = Point.BASE.multiply(randomScalar()).toBytes(false);
    const moved = Uint8Array.from(publicKey);
    moved[64] = moved[64]! ^ 1;
    for (const bad of [moved, publicKey.subarray(1), Point.BASE.toBytes(true)]) {
      expect(codeOf(() => planEvaluation(blinded, bad))).toBe('HSM_BAD_INPUT');
    }
  });

  it('refuses answers that do not come from the key behind the public key', () => {
    const k = randomScalar();
    const blinded = Point.BASE.multiply(randomScalar());
    const plan = planEvaluation(blinded.toBytes(true), Point.BASE.multiply(k).toBytes(false));
    const other = randomScalar();
    const x1 = xBytes(Point.fromBytes(plan.first).multiply(other));
    const x2 = xBytes(Point.fromBytes(plan.second).multiply(other));
    expect(codeOf(() => plan.finish(x1, x2))).toBe('HSM_BAD_INPUT');
    expect(codeOf(() => plan.finish(x1.subarray(1), x2))).toBe('HSM_BAD_INPUT');
  });
});

describe('isCompressedPoint', () => {
  const P = p256.Point.CURVE().p;
  const withX = (prefix: number, x: bigint) =>
    Uint8Array.of(prefix, ...Buffer.from(x.toString(16).padStart(64, '0'), 'hex'));

  // The wire schema checks the length (33) first; on 33 bytes the two checks must agree.
  it("accepts exactly the 33-byte encodings noble's wire check accepts", () => {
    const edges = [0n, 1n, 2n, 3n, P - 3n, P - 2n, P - 1n, P, P + 1n, 2n ** 256n - 1n];
    const candidates = [
      ...edges.flatMap((x) => [withX(0x02, x), withX(0x03, x)]),
      // Random x: about half are on the curve, with either sign.
      ...Array.from({ length: 400 }, (_, i) => Uint8Array.of(0x02 + (i % 2), ...randomBytes(32))),
      ...Array.from({ length: 50 }, () => Point.BASE.multiply(randomScalar()).toBytes(true)),
      Uint8Array.of(0x04, ...randomBytes(32)),
      Uint8Array.of(0x00, ...new Uint8Array(32)),
    ];
    const accepted = candidates.filter(noblePointCheck).length;
    expect(accepted).toBeGreaterThan(200);
    expect(accepted).toBeLessThan(candidates.length - 150);
    for (const encoded of candidates) {
      expect([Buffer.from(encoded).toString('hex'), isCompressedPoint(encoded)]).toEqual([
        Buffer.from(encoded).toString('hex'),
        noblePointCheck(encoded),
      ]);
    }
  });

  it('refuses every other length, the uncompressed form included', () => {
    for (const encoded of [
      Point.BASE.toBytes(false),
      Point.BASE.toBytes(true).subarray(0, 32),
      new Uint8Array(0),
    ]) {
      expect(isCompressedPoint(encoded)).toBe(false);
    }
  });
});
