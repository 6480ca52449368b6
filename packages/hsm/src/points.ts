/**
 * The point arithmetic around the HSM's ECDH: parsing what clients send, and recovering the
 * sign of `k·B` from two x-coordinates (the protocol's "OPRF evaluation inside a PKCS#11 HSM").
 * Pure functions over @noble/curves' P-256; no HSM calls here.
 */
import { p256 } from '@noble/curves/nist.js';
import { badInput } from './errors';

type Point = InstanceType<typeof p256.Point>;
const { Point } = p256;
const { Fp } = Point;

/**
 * RFC 9497 §2.1 DeserializeElement for P-256: exactly 33 bytes, SEC1 compressed, on the curve,
 * not the identity. Anything else is HSM_BAD_INPUT, refused before any HSM call.
 */
export function parseBlindedElement(bytes: Uint8Array): Point {
  if (bytes.length !== 33 || (bytes[0] !== 0x02 && bytes[0] !== 0x03)) {
    throw badInput('blinded element must be a 33-byte SEC1 compressed point');
  }
  return decodePoint(bytes, 'blinded element');
}

/** A stored public key `P = k·G`: 65 bytes SEC1 uncompressed, on the curve, not the identity. */
export function parsePublicKey(bytes: Uint8Array): Point {
  if (bytes.length !== 65 || bytes[0] !== 0x04) {
    throw badInput('OPRF public key must be a 65-byte SEC1 uncompressed point');
  }
  return decodePoint(bytes, 'OPRF public key');
}

function decodePoint(bytes: Uint8Array, what: string): Point {
  let point: Point;
  try {
    // noble checks the curve equation here (and has no encoding for the identity).
    point = Point.fromBytes(bytes);
  } catch {
    throw badInput(`${what} is not a point on P-256`);
  }
  if (point.is0()) throw badInput(`${what} is the identity`);
  return point;
}

/**
 * The second ECDH input. `k·(B + G) = k·B + P` ties the sign of `k·B` to a value the HSM can
 * compute. For the one input where `B + G` is the identity (B = -G), `B + 2G` serves instead,
 * with `2P` in place of `P`.
 */
export function offsetInput(blinded: Point): { shifted: Point; multiple: bigint } {
  const shifted = blinded.add(Point.BASE);
  if (!shifted.is0()) return { shifted, multiple: 1n };
  return { shifted: blinded.add(Point.BASE.double()), multiple: 2n };
}

/**
 * Protocol brief, "OPRF evaluation inside a PKCS#11 HSM": with `x1 = x(k·B)` and
 * `x2 = x(k·(B + m·G))`, `Z` is the point `C` with x-coordinate `x1` for which
 * `x(C + m·P) = x2`; exactly one of `C` and `-C` qualifies. Returns `Z` SEC1 compressed.
 * Throws HSM_BAD_INPUT when neither qualifies: the public key does not belong to the wrapped key.
 */
export function recoverEvaluation(
  x1: Uint8Array,
  x2: Uint8Array,
  publicKey: Point,
  multiple: bigint,
): Uint8Array {
  const offset = (multiple === 1n ? publicKey : publicKey.multiply(multiple)).toAffine();
  const x = bytesToBigInt(x1);
  const target = bytesToBigInt(x2);
  if (x !== offset.x) {
    const y = solveForY(x, target, offset);
    if (y !== undefined) return Point.fromAffine({ x, y }).toBytes(true);
    throw badInput('OPRF public key does not match the wrapped key');
  }
  return compareBothSigns(x, target, offset);
}

/**
 * The comparison `x(C + Q) = x2` solved for C's y without a square root (SEC 1 §2.2.1 chord
 * rule, Q = (qx, qy), x ≠ qx): `x2 = λ² - x - qx` with `λ = (y - qy) / (x - qx)`; replacing
 * `y²` by `x³ - 3x + b` leaves an equation linear in y. The y found must lie on the curve,
 * which holds exactly when one of ±y satisfies the comparison.
 */
function solveForY(x: bigint, x2: bigint, q: { x: bigint; y: bigint }): bigint | undefined {
  const { a, b } = Point.CURVE();
  const ySquared = Fp.add(Fp.add(Fp.mul(Fp.sqr(x), x), Fp.mul(a, x)), b);
  const d = Fp.sub(x, q.x);
  const rhs = Fp.mul(Fp.add(Fp.add(x2, x), q.x), Fp.sqr(d));
  const numerator = Fp.sub(Fp.add(ySquared, Fp.sqr(q.y)), rhs);
  const y = Fp.div(numerator, Fp.add(q.y, q.y));
  return Fp.eql(Fp.sqr(y), ySquared) ? y : undefined;
}

/** The brief's comparison done literally, for the rare input where C = ±Q (x = qx). */
function compareBothSigns(x: bigint, target: bigint, q: { x: bigint; y: bigint }): Uint8Array {
  const offset = Point.fromAffine(q);
  const candidate = Point.fromBytes(Uint8Array.of(0x02, ...bigIntTo32Bytes(x)));
  if (xOf(candidate.add(offset)) === target) return candidate.toBytes(true);
  const negated = candidate.negate();
  if (xOf(negated.add(offset)) === target) return negated.toBytes(true);
  throw badInput('OPRF public key does not match the wrapped key');
}

/** `P = s·G` SEC1 uncompressed, for importing a known scalar. */
export function publicKeyOf(scalar: bigint): Uint8Array {
  return Point.BASE.multiply(scalar).toBytes(false);
}

/** The group order of P-256. */
export const P256_ORDER: bigint = Point.CURVE().n;

function xOf(point: Point): bigint | undefined {
  return point.is0() ? undefined : point.toAffine().x;
}

function bigIntTo32Bytes(value: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(value.toString(16).padStart(64, '0'), 'hex'));
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  return BigInt('0x' + Buffer.from(bytes).toString('hex'));
}
