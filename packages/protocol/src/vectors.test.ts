/**
 * Re-derives every bkv1 vector (vectors/bkv1.json, made by scripts/make-vectors.mjs, a second
 * implementation written from docs/protocol.md) with this package's functions.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { p256, p256_oprf } from '@noble/curves/nist.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { finishDerivation, startDerivation } from './derivation';
import { deriveRecordKeys } from './keys';
import { fixedBlindSource, oprfBlind, oprfFinalize } from './oprf';
import { toBase64url } from './base64url';
import { recordAad } from './record-aad';
import { openBackupKey, sealBackupKey } from './sealed-key';
import { normalizePassphrase, stretchPassphrase } from './stretch';
import type { Kdf } from './suite';

interface Vector {
  name: string;
  passphrase: string;
  passphraseUtf8Nfkc: string;
  kdf: Kdf;
  salt: string;
  input: string;
  blind: string;
  blindedElement: string;
  oprfKey: string;
  oprfPublicKey: string;
  evaluatedElement: string;
  y: string;
  realmId: string;
  unlockKey: string;
  wrapKey: string;
  unlockTag: string;
  backupKey: string;
  nonce: string;
  sealedKey: string;
  userId: string;
  version: number;
  recordAad: string;
}

const file = JSON.parse(readFileSync(join(__dirname, '../vectors/bkv1.json'), 'utf8')) as {
  vectors: Vector[];
};
const h = hexToBytes;

describe('bkv1 vectors', () => {
  let ran = 0;
  afterAll(() => expect(ran).toBe(4));

  it.each(file.vectors)('re-derives vector $name step by step', async (v) => {
    expect(bytesToHex(normalizePassphrase(v.passphrase))).toBe(v.passphraseUtf8Nfkc);
    const input = await stretchPassphrase(v.passphrase, h(v.salt), v.kdf);
    expect(bytesToHex(input)).toBe(v.input);

    const blinding = oprfBlind(input, fixedBlindSource(h(v.blind)));
    expect(bytesToHex(blinding.blindedElement)).toBe(v.blindedElement);

    // What the realm computes; the HSM's two-ECDH evaluation must give the same element.
    const evaluated = p256_oprf.oprf.blindEvaluate(h(v.oprfKey), blinding.blindedElement);
    expect(bytesToHex(evaluated)).toBe(v.evaluatedElement);
    expect(bytesToHex(p256.getPublicKey(h(v.oprfKey), false))).toBe(v.oprfPublicKey);

    const y = oprfFinalize(input, blinding.blind, evaluated);
    expect(bytesToHex(y)).toBe(v.y);

    const keys = deriveRecordKeys(y, h(v.realmId));
    expect(bytesToHex(keys.wrapKey)).toBe(v.wrapKey);
    expect(bytesToHex(keys.unlockTag)).toBe(v.unlockTag);
    const tagFromListedKey = hmac(
      sha256,
      h(v.unlockKey),
      new TextEncoder().encode('bkv1 unlock tag'),
    );
    expect(bytesToHex(tagFromListedKey)).toBe(v.unlockTag);

    const sealed = await sealBackupKey(keys.wrapKey, h(v.backupKey), h(v.nonce));
    expect(bytesToHex(sealed)).toBe(v.sealedKey);
    expect(bytesToHex(await openBackupKey(h(v.wrapKey), h(v.sealedKey)))).toBe(v.backupKey);

    expect(bytesToHex(recordAad(h(v.realmId), v.userId, v.version))).toBe(v.recordAad);
    ran++;
  });

  it.each(file.vectors)('gives the same keys through start and finish for $name', async (v) => {
    const pending = await startDerivation(
      v.passphrase,
      h(v.salt),
      v.kdf,
      fixedBlindSource(h(v.blind)),
    );
    expect(bytesToHex(pending.blindedElement)).toBe(v.blindedElement);

    const keys = finishDerivation(pending, h(v.evaluatedElement), h(v.realmId));
    expect(bytesToHex(keys.unlockTag)).toBe(v.unlockTag);
    expect(bytesToHex(keys.wrapKey)).toBe(v.wrapKey);
    expect(pending.input.every((byte) => byte === 0)).toBe(true);
    expect(pending.blind.every((byte) => byte === 0)).toBe(true);
  });

  it('derives the same values from the ligature and the composed spelling', () => {
    const [ligature, composed] = ['nfkc-ligature', 'nfkc-composed'].map((name) =>
      file.vectors.find((v) => v.name === name)!,
    );
    expect(composed!.passphrase).not.toBe(ligature!.passphrase);
    expect({ ...composed, name: '', passphrase: '' }).toEqual({
      ...ligature,
      name: '',
      passphrase: '',
    });
  });
});

describe('the committed vectors', () => {
  const root = join(__dirname, '../../..');

  it('are what the committed script writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bkv-vectors-'));
    try {
      const out = join(dir, 'bkv1.json');
      execFileSync(process.execPath, [join(__dirname, '../scripts/make-vectors.mjs'), out]);
      expect(readFileSync(out, 'utf8')).toBe(
        readFileSync(join(__dirname, '../vectors/bkv1.json'), 'utf8'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('are what docs/protocol.md writes out for the first case, in hex and on the wire', () => {
    const doc = readFileSync(join(root, 'docs/protocol.md'), 'utf8');
    const section = doc.slice(doc.indexOf('The first bkv1 case, written out'));
    const block = /```\n([\s\S]*?)```/.exec(section)![1]!;
    // "label  value", continued on indented lines; the label's first word names the field.
    const values = new Map<string, string>();
    let field = '';
    for (const line of block.split('\n').filter(Boolean)) {
      const continued = line.startsWith(' ');
      const value = continued
        ? line.trim()
        : line
            .split(/\s{2,}/)
            .slice(1)
            .join(' ');
      if (!continued) field = line.split(/[\s,]/)[0]!;
      values.set(field, (values.get(field) ?? '') + value);
    }
    const v = file.vectors[0]!;
    const hexFields = ['salt', 'input', 'blind', 'blindedElement', 'oprfKey', 'oprfPublicKey'];
    hexFields.push('evaluatedElement', 'y', 'realmId', 'unlockKey', 'wrapKey', 'unlockTag');
    hexFields.push('backupKey', 'nonce', 'sealedKey', 'recordAad');
    for (const name of hexFields) {
      expect([name, values.get(name)?.replace(/\s/g, '')]).toEqual([name, v[name as keyof Vector]]);
    }
    expect(values.get('passphrase')).toBe(JSON.stringify(v.passphrase));
    expect(values.get('userId')).toBe(`${JSON.stringify(v.userId)}, ${v.version}`);

    const wire = section.slice(section.indexOf('as they appear on the wire'));
    const pairs = [...wire.slice(0, wire.indexOf('\n\n')).matchAll(/`(\w+)` =\s+`([\w-]+)`/g)];
    expect(pairs.map(([, name]) => name)).toEqual([
      'salt',
      'blindedElement',
      'evaluatedElement',
      'unlockTag',
      'sealedKey',
      'realmId',
    ]);
    for (const [, name, b64] of pairs) {
      expect([name, b64]).toEqual([name, toBase64url(h(v[name as keyof Vector] as string))]);
    }
  });
});
