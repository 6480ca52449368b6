/**
 * The `/v1` wire contract (docs/protocol.md, "Wire contract"). Request schemas are strict:
 * unknown fields, wrong types and wrong lengths are refused. Binary fields are base64url
 * without padding and decode to `Uint8Array` of an exact length.
 */
import { p256 } from '@noble/curves/nist.js';
import { z } from 'zod';
import { fromBase64url } from './base64url';
import { LENGTHS } from './suite';

/** A base64url field that must decode to exactly `length` bytes. */
export function bytes(length: number) {
  return z.string().transform((text, ctx) => {
    const decoded = fromBase64url(text);
    if (decoded === undefined || decoded.length !== length) {
      ctx.addIssue({ code: 'custom', message: `expected ${length} bytes as base64url` });
      return z.NEVER;
    }
    return decoded;
  });
}

/** Whether 33 bytes are a SEC1 compressed P-256 point: x below p, and on the curve. */
export type PointCheck = (encoded: Uint8Array) => boolean;

/** noble's check, for every runtime. */
export const noblePointCheck: PointCheck = (encoded) => {
  try {
    p256.Point.fromBytes(encoded).assertValidity();
    return true;
  } catch {
    return false;
  }
};

/**
 * A P-256 point, SEC1 compressed (RFC 9497 §4.3 SerializeElement). Refuses encodings that do
 * not decode to a point on the curve; the identity has no compressed encoding, so it is
 * refused too.
 */
function elementWith(isPoint: PointCheck) {
  return bytes(LENGTHS.element).refine(isPoint, { message: 'expected a compressed P-256 point' });
}

export const element = elementWith(noblePointCheck);

const count = z.number().int().min(1);

/** Each field of the Argon2id parameters on its own, for an override of some of them. */
export const kdfFieldsSchema = z.strictObject({
  alg: z.literal('argon2id'),
  memoryKiB: count.max(4 * 1024 * 1024),
  iterations: count.max(64),
  parallelism: count.max(16),
});

/** Argon2id parameters as a whole: RFC 9106 §3.1 needs at least 8 KiB of memory per lane. */
export const kdfSchema = kdfFieldsSchema.refine((k) => k.memoryKiB >= 8 * k.parallelism, {
  message: 'must be at least 8 × parallelism (RFC 9106)',
  path: ['memoryKiB'],
});

/**
 * The request schemas that carry a point, checked by `isPoint`: a server may bring a faster
 * check of the same set (the vault uses OpenSSL's), a browser keeps noble's.
 */
export function pointRequests(isPoint: PointCheck) {
  const blindedElement = elementWith(isPoint);
  return {
    enrollRequest: z.strictObject({
      kdf: kdfSchema,
      salt: bytes(LENGTHS.salt),
      blindedElement,
      guessLimit: count.max(1000).optional(),
    }),
    recoveryStartRequest: z.strictObject({
      // The version travels as u32be in the record AAD and is a 32-bit integer in the stores.
      version: count.max(0x7fffffff),
      blindedElement,
    }),
  };
}

export const { enrollRequest, recoveryStartRequest } = pointRequests(noblePointCheck);
export type EnrollRequest = z.output<typeof enrollRequest>;

export const commitRequest = z.strictObject({
  unlockTag: bytes(LENGTHS.unlockTag),
  sealedKey: bytes(LENGTHS.sealedKey),
});
export type CommitRequest = z.output<typeof commitRequest>;

export type RecoveryStartRequest = z.output<typeof recoveryStartRequest>;

export const recoveryFinishRequest = z.strictObject({
  unlockTag: bytes(LENGTHS.unlockTag),
});
export type RecoveryFinishRequest = z.output<typeof recoveryFinishRequest>;

/** Ids of pending enrollments and recoveries: 16 random bytes, base64url. */
export const pendingId = z.string().regex(/^[A-Za-z0-9_-]{22}$/);

// Responses. The client parses these leniently about extra fields (a newer server may add
// some) but strictly about the types and lengths it relies on.

const b64 = z.string();

export const realmResponse = z.object({
  realmId: b64,
  suite: z.literal('bkv1'),
  kdf: kdfSchema,
  kdfMinimum: kdfSchema,
  guessLimit: z.object({ default: count, max: count }),
});
export type RealmResponse = z.infer<typeof realmResponse>;

export const enrollResponse = z.object({
  enrollmentId: z.string(),
  evaluatedElement: b64,
  expiresAt: z.string(),
});
export type EnrollResponse = z.infer<typeof enrollResponse>;

export const commitResponse = z.object({
  version: count,
  guessLimit: count,
  guessesRemaining: z.number().int().min(0),
});
export type CommitResponse = z.infer<typeof commitResponse>;

export const recordResponse = z.discriminatedUnion('state', [
  z.object({
    state: z.literal('active'),
    version: count,
    kdf: kdfSchema,
    salt: b64,
    guessLimit: count,
    guessesRemaining: z.number().int().min(0),
    createdAt: z.string(),
  }),
  z.object({ state: z.literal('locked'), lockedAt: z.string() }),
]);
export type RecordResponse = z.infer<typeof recordResponse>;

export const recoveryStartResponse = z.object({
  recoveryId: z.string(),
  evaluatedElement: b64,
  guessesRemaining: z.number().int().min(0),
  expiresAt: z.string(),
});
export type RecoveryStartResponse = z.infer<typeof recoveryStartResponse>;

export const recoveryFinishResponse = z.object({
  version: count,
  sealedKey: b64,
});
export type RecoveryFinishResponse = z.infer<typeof recoveryFinishResponse>;

export const errorResponse = z.object({
  error: z
    .object({
      code: z.string(),
      message: z.string(),
      guessesRemaining: z.number().int().min(0).optional(),
      retryAfter: z.number().int().min(0).optional(),
      field: z.string().optional(),
    })
    .loose(),
});
export type ErrorResponse = z.infer<typeof errorResponse>;
