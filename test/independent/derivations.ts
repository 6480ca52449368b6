/**
 * The bkv1 client derivations written from docs/protocol.md alone, as a check on that document:
 * nothing here comes from the project's own protocol or client packages. The primitives are
 * node:crypto (HKDF, HMAC, AES-GCM, randomness), hash-wasm (Argon2id) and noble's P-256 group
 * with its RFC 9380 hash-to-curve; the RFC 9497 framing around them is written out below.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { p256, p256_hasher } from '@noble/curves/nist.js';
import { argon2id } from 'hash-wasm';

/** Argon2id parameters as they travel in a record and in `GET /v1/realm`. */
export interface Kdf {
  alg: 'argon2id';
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

type Point = InstanceType<typeof p256.Point>;

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const Point = p256.Point;
const n = Point.Fn.ORDER;

// RFC 9497 §3.1: contextString = "OPRFV1-" || I2OSP(mode, 1) || "-" || identifier, mode 0x00.
const CONTEXT = Buffer.concat([ascii('OPRFV1-'), Uint8Array.of(0x00), ascii('-P256-SHA256')]);
const HASH_TO_GROUP_DST = Buffer.concat([ascii('HashToGroup-'), CONTEXT]);

/** Step 1: NFKC, then UTF-8. */
export function passphraseBytes(passphrase: string): Uint8Array {
  if (passphrase.length === 0) throw new Error('empty passphrase');
  return ascii(passphrase.normalize('NFKC'));
}

/** Step 2: Argon2id (RFC 9106, version 0x13), 32 bytes, no secret and no associated data. */
export async function stretch(pw: Uint8Array, salt: Uint8Array, kdf: Kdf): Promise<Uint8Array> {
  return argon2id({
    password: pw,
    salt,
    memorySize: kdf.memoryKiB,
    iterations: kdf.iterations,
    parallelism: kdf.parallelism,
    hashLength: 32,
    outputType: 'binary',
  });
}

/** The doc's way to draw a blind: 48 random bytes `s`, `r = (s mod (n-1)) + 1`. */
export function randomBlind(): bigint {
  const s = BigInt(`0x${randomBytes(48).toString('hex')}`);
  return (s % (n - 1n)) + 1n;
}

/** Step 3, RFC 9497 §3.3.1 Blind with a given scalar `r`: `B = r·HashToGroup(input)`. */
export function blind(input: Uint8Array, r: bigint): Uint8Array {
  // RFC 9380 hash_to_curve, P256_XMD:SHA-256_SSWU_RO_, DST "HashToGroup-" || contextString.
  const T = p256_hasher.hashToCurve(input, { DST: HASH_TO_GROUP_DST });
  if (T.equals(Point.ZERO)) throw new Error('input hashed to the identity');
  if (r < 1n || r >= n) throw new Error('blind out of range');
  return T.multiply(r).toBytes(true);
}

/** Step 4, done by the realm: `Z = k·B`. Here only to reproduce the vectors. */
export function evaluate(k: bigint, blindedElement: Uint8Array): Uint8Array {
  return decodeElement(blindedElement).multiply(k).toBytes(true);
}

/** `P = k·G` uncompressed, as the realm keeps it. */
export function publicKey(k: bigint): Uint8Array {
  return Point.BASE.multiply(k).toBytes(false);
}

/** Step 5, RFC 9497 §3.3.1 Finalize: unblind `Z` and hash it with the input. */
export function finalize(input: Uint8Array, r: bigint, evaluatedElement: Uint8Array): Uint8Array {
  const Z = decodeElement(evaluatedElement);
  const N = Z.multiply(Point.Fn.inv(r)).toBytes(true);

  // Hash input: u16be(len(input)) || input || u16be(33) || N || "Finalize".
  return createHash('sha256')
    .update(u16be(input.length))
    .update(input)
    .update(u16be(N.length))
    .update(N)
    .update('Finalize')
    .digest();
}

/** Step 6: the two keys and the unlock tag from `y` (RFC 5869, RFC 2104). */
export function keys(
  y: Uint8Array,
  realmId: Uint8Array,
): { unlockKey: Uint8Array; wrapKey: Uint8Array; unlockTag: Uint8Array } {
  const expand = (label: string) =>
    new Uint8Array(hkdfSync('sha256', y, realmId, ascii(label), 32));
  const unlockKey = expand('bkv1 unlock key');
  const wrapKey = expand('bkv1 key encryption key');
  const unlockTag = createHmac('sha256', unlockKey).update('bkv1 unlock tag').digest();
  return { unlockKey, wrapKey, unlockTag: new Uint8Array(unlockTag) };
}

const SEAL_AAD = ascii('bkv1 backup key');

/** Step 7: `nonce(12) || AES-256-GCM(wrapKey, nonce, K, aad "bkv1 backup key")`, 60 bytes. */
export function seal(wrapKey: Uint8Array, K: Uint8Array, nonce: Uint8Array = randomBytes(12)) {
  const cipher = createCipheriv('aes-256-gcm', wrapKey, nonce).setAAD(SEAL_AAD);
  const body = Buffer.concat([cipher.update(K), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Opens a sealed key; throws when the 60 bytes do not verify under `wrapKey`. */
export function open(wrapKey: Uint8Array, sealedKey: Uint8Array): Uint8Array {
  if (sealedKey.length !== 60) throw new Error('sealed key is not 60 bytes');
  const decipher = createDecipheriv('aes-256-gcm', wrapKey, sealedKey.subarray(0, 12));
  decipher.setAAD(SEAL_AAD).setAuthTag(sealedKey.subarray(44, 60));
  return new Uint8Array(
    Buffer.concat([decipher.update(sealedKey.subarray(12, 44)), decipher.final()]),
  );
}

/** The sealed record's AAD: `realmId || u32be(len(userId)) || userId || u32be(version)`. */
export function recordAad(realmId: Uint8Array, userId: string, version: number): Uint8Array {
  const user = ascii(userId);
  return Buffer.concat([realmId, u32be(user.length), user, u32be(version)]);
}

/** A 33-byte compressed point that is on the curve and not the identity, or an error. */
export function decodeElement(bytes: Uint8Array): Point {
  if (bytes.length !== 33) throw new Error('element is not 33 bytes');
  const point = Point.fromBytes(bytes);
  point.assertValidity();
  if (point.equals(Point.ZERO)) throw new Error('element is the identity');
  return point;
}

function u16be(value: number): Uint8Array {
  return Uint8Array.of(value >>> 8, value & 0xff);
}

function u32be(value: number): Uint8Array {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}
