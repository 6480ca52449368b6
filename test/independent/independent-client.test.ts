/**
 * The realm checked against a client written from docs/protocol.md alone: the document's
 * vectors, enrollment and recovery in both directions with the project's own client, and the
 * documented error bodies.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { IndependentClient, WireError, toB64 } from './client';
import {
  blind,
  evaluate,
  finalize,
  keys,
  open,
  passphraseBytes,
  publicKey,
  recordAad,
  seal,
  stretch,
} from './derivations';
import { expectError } from './error-shape';
import { startTestVault, type TestVault } from '../support/test-vault';

const hex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const vectorFile = path.join(__dirname, '../../packages/protocol/vectors/bkv1.json');
const vectors = (JSON.parse(readFileSync(vectorFile, 'utf8')) as { vectors: any[] }).vectors;

describe('the bkv1 vectors, derived from the document alone', () => {
  it('covers all four cases', () => {
    expect(vectors).toHaveLength(4);
  });

  it.each(vectors.map((v) => [v.name, v]))('reproduces every value of %s', async (_name, v) => {
    const pw = passphraseBytes(v.passphrase);
    expect(toHex(pw)).toBe(v.passphraseUtf8Nfkc);

    const input = await stretch(pw, hex(v.salt), v.kdf);
    expect(toHex(input)).toBe(v.input);

    const r = BigInt(`0x${v.blind}`);
    const B = blind(input, r);
    expect(toHex(B)).toBe(v.blindedElement);

    const k = BigInt(`0x${v.oprfKey}`);
    expect(toHex(publicKey(k))).toBe(v.oprfPublicKey);
    const Z = evaluate(k, B);
    expect(toHex(Z)).toBe(v.evaluatedElement);

    const y = finalize(input, r, Z);
    expect(toHex(y)).toBe(v.y);

    const derived = keys(y, hex(v.realmId));
    expect(toHex(derived.unlockKey)).toBe(v.unlockKey);
    expect(toHex(derived.wrapKey)).toBe(v.wrapKey);
    expect(toHex(derived.unlockTag)).toBe(v.unlockTag);

    const sealed = seal(derived.wrapKey, hex(v.backupKey), hex(v.nonce));
    expect(toHex(sealed)).toBe(v.sealedKey);
    expect(toHex(open(derived.wrapKey, sealed))).toBe(v.backupKey);

    expect(toHex(recordAad(hex(v.realmId), v.userId, v.version))).toBe(v.recordAad);
  });
});

describe('the realm against the independent client', () => {
  let t: TestVault;
  const independent = async (user: string) => new IndependentClient(t.url, await t.tokenFor(user));

  beforeAll(async () => {
    t = await startTestVault();
  });

  afterAll(async () => {
    await t.close();
  });

  it('recovers what it enrolled', async () => {
    const client = await independent('ada');
    const enrolled = await client.enroll('correct horse battery staple');
    expect(enrolled).toMatchObject({ version: 1, guessLimit: 10, guessesRemaining: 10 });

    const recovered = await (await independent('ada')).recover('correct horse battery staple');
    expect(toB64(recovered.key)).toBe(toB64(enrolled.key));
    expect(recovered.version).toBe(1);
  });

  it('enrolls a key that the project client recovers', async () => {
    const key = new Uint8Array(32).map((_, i) => 255 - i);
    await (await independent('bea')).enroll('\ufb01sh and cafe\u0301', key);

    const recovered = await (await t.clientFor('bea')).recover('fish and caf\u00e9');
    expect(recovered.key).toEqual(key);
  });

  it('recovers a key that the project client enrolled', async () => {
    const enrolled = await (await t.clientFor('cy')).enroll('a passphrase from the sdk');

    const recovered = await (await independent('cy')).recover('a passphrase from the sdk');
    expect(toB64(recovered.key)).toBe(toB64(enrolled.key));
  });

  it('answers a wrong passphrase with 401 WRONG_PASSPHRASE and the guesses left', async () => {
    const client = await independent('dot');
    await client.enroll('the right one', undefined, { guessLimit: 5 });

    const err = await client.recover('the wrong one').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WireError);
    expectError(err as WireError, 'WRONG_PASSPHRASE');
    expect((err as WireError).body).toMatchObject({ error: { guessesRemaining: 4 } });
    expect(await client.record()).toMatchObject({ state: 'active', guessesRemaining: 4 });
  });
});
