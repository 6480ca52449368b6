/**
 * The wire schemas that carry a point: noble's check by default, or the one a server brings,
 * with the same message and path either way.
 */
import { p256 } from '@noble/curves/nist.js';
import { toBase64url } from './base64url';
import { element, enrollRequest, pointRequests, recoveryStartRequest } from './wire';

const point = p256.Point.BASE.multiply(12345n).toBytes(true);
const start = (blinded: Uint8Array) => ({ version: 1, blindedElement: toBase64url(blinded) });

describe('element', () => {
  it('decodes a compressed point and refuses the rest', () => {
    expect(element.parse(toBase64url(point))).toEqual(point);
    const offCurve = Uint8Array.from(point);
    // Step x until it has no point: about every second value of x does not.
    for (let i = 0; element.safeParse(toBase64url(offCurve)).success; i++) offCurve[32] = i;
    for (const bad of [offCurve, point.subarray(0, 32), p256.Point.BASE.toBytes(false)]) {
      expect(element.safeParse(toBase64url(bad)).success).toBe(false);
    }
    expect(element.safeParse('not base64url!').success).toBe(false);
  });
});

describe('pointRequests', () => {
  it('checks the blinded element of both requests with the check it is given', () => {
    const seen: Uint8Array[] = [];
    const refuseAll = pointRequests((encoded) => {
      seen.push(encoded);
      return false;
    });
    const enroll = {
      kdf: { alg: 'argon2id', memoryKiB: 65536, iterations: 3, parallelism: 1 },
      salt: toBase64url(new Uint8Array(16)),
      blindedElement: toBase64url(point),
    };
    expect(enrollRequest.safeParse(enroll).success).toBe(true);
    expect(recoveryStartRequest.safeParse(start(point)).success).toBe(true);
    for (const [schema, body] of [
      [refuseAll.enrollRequest, enroll],
      [refuseAll.recoveryStartRequest, start(point)],
    ] as const) {
      const result = schema.safeParse(body);
      expect(result.success).toBe(false);
      expect(result.error?.issues).toMatchObject([
        { path: ['blindedElement'], message: 'expected a compressed P-256 point' },
      ]);
    }
    expect(seen).toEqual([point, point]);
  });
});
