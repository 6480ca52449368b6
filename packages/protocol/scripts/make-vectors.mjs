// @ts-check
/**
 * Writes `packages/protocol/vectors/bkv1.json`, the test vectors of suite bkv1.
 *
 *   node packages/protocol/scripts/make-vectors.mjs [OUT]
 *
 * (OUT, when given, is written instead: the vectors test writes one and compares.)
 * This is a second implementation of docs/protocol.md "Client derivations", written from the
 * document and not from `src/`: hash-to-curve, the unblinding and the Finalize hash are done
 * here on noble's curve primitives, HKDF and HMAC with node:crypto, AES-GCM with node:crypto.
 * Only Argon2id comes from the same library as the client (hash-wasm), as Node 20 has none.
 * Every input is fixed or derived from a label, so running it again gives the same file.
 */
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { p256, p256_hasher } from '@noble/curves/nist.js';
import { argon2id } from 'hash-wasm';

const hex = (/** @type {Uint8Array} */ bytes) => Buffer.from(bytes).toString('hex');
const ascii = (/** @type {string} */ text) => Buffer.from(text, 'utf8');

/** Deterministic bytes for a named input: the first `length` bytes of SHA-256(label). */
function fixed(/** @type {string} */ label, /** @type {number} */ length) {
  return new Uint8Array(createHash('sha256').update(`bkv1 vectors ${label}`).digest()).slice(
    0,
    length,
  );
}

/** A scalar in [1, n-1] from a label, as 32 bytes big-endian. */
function scalar(/** @type {string} */ label) {
  const n = p256.Point.Fn.ORDER;
  const value = (BigInt('0x' + hex(fixed(label, 32))) % (n - 1n)) + 1n;
  return { value, bytes: Buffer.from(value.toString(16).padStart(64, '0'), 'hex') };
}

/** I2OSP(length, 2) || bytes (RFC 9497 §4). */
function lengthPrefixed(/** @type {Uint8Array} */ bytes) {
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
}

/** RFC 5869 HKDF-SHA256, extract then expand, for outputs of at most 32 bytes. */
function hkdf(
  /** @type {Uint8Array} */ ikm,
  /** @type {Uint8Array} */ salt,
  /** @type {string} */ info,
) {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  return createHmac('sha256', prk)
    .update(Buffer.concat([ascii(info), Buffer.from([1])]))
    .digest();
}

const CONTEXT = Buffer.concat([ascii('OPRFV1-'), Buffer.from([0]), ascii('-P256-SHA256')]);

/**
 * One vector: every intermediate value of an enrollment, from passphrase to sealed key. The
 * fixed inputs (realm, salt, blind, keys, nonce, user) come from the labels of `seedName`.
 */
async function vector(
  /** @type {string} */ name,
  /** @type {string} */ passphrase,
  /** @type {{alg: 'argon2id', memoryKiB: number, iterations: number, parallelism: number}} */ kdf,
  seedName = name,
) {
  const realmId = fixed(`${seedName} realmId`, 16);
  const salt = fixed(`${seedName} salt`, 16);
  const backupKey = fixed(`${seedName} backupKey`, 32);
  const nonce = fixed(`${seedName} nonce`, 12);
  const blind = scalar(`${seedName} blind`);
  const oprfKey = scalar(`${seedName} oprfKey`);
  const userId = `user-${seedName}@example.org`;
  const version = 3;

  // Argon2id over UTF8(NFKC(passphrase)).
  const password = ascii(passphrase.normalize('NFKC'));
  const input = await argon2id({
    password,
    salt,
    parallelism: kdf.parallelism,
    iterations: kdf.iterations,
    memorySize: kdf.memoryKiB,
    hashLength: 32,
    outputType: 'binary',
  });

  // RFC 9497 §3.3.1 Blind: B = r·HashToGroup(input), DST "HashToGroup-" || contextString.
  const dst = Buffer.concat([ascii('HashToGroup-'), CONTEXT]);
  const inputPoint = p256_hasher.hashToCurve(input, { DST: dst });
  const blinded = inputPoint.multiply(blind.value);

  // The realm: Z = k·B (what the HSM evaluation must return), and its public key P = k·G.
  const evaluated = blinded.multiply(oprfKey.value);
  const publicKey = p256.Point.BASE.multiply(oprfKey.value);

  // RFC 9497 §3.3.1 Finalize: N = r⁻¹·Z, y = SHA-256(len||input||len||N||"Finalize").
  const unblinded = evaluated.multiply(p256.Point.Fn.inv(blind.value)).toBytes(true);
  const transcript = [lengthPrefixed(input), lengthPrefixed(unblinded), ascii('Finalize')];
  const y = createHash('sha256').update(Buffer.concat(transcript)).digest();

  // HKDF-SHA256 with salt = realmId, then the unlock tag.
  const unlockKey = hkdf(y, realmId, 'bkv1 unlock key');
  const wrapKey = hkdf(y, realmId, 'bkv1 key encryption key');
  const unlockTag = createHmac('sha256', unlockKey).update(ascii('bkv1 unlock tag')).digest();

  // sealedKey = nonce || AES-256-GCM(wrapKey, nonce, K, aad "bkv1 backup key") || tag.
  const cipher = createCipheriv('aes-256-gcm', wrapKey, nonce);
  cipher.setAAD(ascii('bkv1 backup key'));
  const body = Buffer.concat([cipher.update(backupKey), cipher.final(), cipher.getAuthTag()]);
  const sealedKey = Buffer.concat([nonce, body]);

  // The record's HSM seal AAD: realmId || u32be(len(user)) || user || u32be(version).
  const user = ascii(userId);
  const u32 = (/** @type {number} */ value) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(value);
    return out;
  };
  const recordAad = Buffer.concat([realmId, u32(user.length), user, u32(version)]);

  return {
    name,
    passphrase,
    passphraseUtf8Nfkc: hex(password),
    kdf,
    salt: hex(salt),
    input: hex(input),
    blind: hex(blind.bytes),
    blindedElement: hex(blinded.toBytes(true)),
    oprfKey: hex(oprfKey.bytes),
    oprfPublicKey: hex(publicKey.toBytes(false)),
    evaluatedElement: hex(evaluated.toBytes(true)),
    y: hex(y),
    realmId: hex(realmId),
    unlockKey: hex(unlockKey),
    wrapKey: hex(wrapKey),
    unlockTag: hex(unlockTag),
    backupKey: hex(backupKey),
    nonce: hex(nonce),
    sealedKey: hex(sealedKey),
    userId,
    version,
    recordAad: hex(recordAad),
  };
}

const SMALL = {
  alg: /** @type {const} */ ('argon2id'),
  memoryKiB: 256,
  iterations: 2,
  parallelism: 1,
};
const DEFAULT = {
  alg: /** @type {const} */ ('argon2id'),
  memoryKiB: 65536,
  iterations: 3,
  parallelism: 1,
};

const file = {
  description:
    'Test vectors of suite bkv1 (docs/protocol.md). Binary values are hex; on the wire they ' +
    'travel as base64url without padding. oprfKey and oprfPublicKey stand for the realm.',
  generator: 'packages/protocol/scripts/make-vectors.mjs',
  vectors: [
    await vector('ascii', 'correct horse battery staple', SMALL),
    await vector('nfkc-ligature', '\ufb01sh and cafe\u0301', SMALL),
    // The same text spelled without the ligature and with a composed é, and the same fixed
    // inputs: every derived value must equal the previous vector's.
    await vector('nfkc-composed', 'fish and caf\u00e9', SMALL, 'nfkc-ligature'),
    await vector('default-kdf', 'Tr0ub4dor&3', DEFAULT),
  ],
};

const out = process.argv[2] ?? fileURLToPath(new URL('../vectors/bkv1.json', import.meta.url));
writeFileSync(out, JSON.stringify(file, null, 2) + '\n');
console.log(`wrote ${file.vectors.length} vectors to ${out}`);
