/**
 * `bkv mode key` and `bkv mode passphrase` against a real vault (SoftHSM token and SQLite file
 * in temporary folders), driven with the vault URL, a token and the passphrase in the env.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatRecoveryKey } from '@bkv/client';
import { startTestVault, type TestVault } from '../../../../test/support/test-vault';
import { fakeContext } from '../fake-context.testing';
import { decryptCommand } from './decrypt';
import { encryptCommand } from './encrypt';
import { modeCommand } from './mode';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => 7 * i + 5);
const PASSPHRASE = 'a long and memorable passphrase';

let t: TestVault;
let dir: string;

beforeAll(async () => {
  t = await startTestVault();
  dir = mkdtempSync(path.join(tmpdir(), 'bkv-mode-'));
});

afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A context for `user` with the passphrase in the env and `answers` for prompts. */
async function fake(user: string, answers: string[] = []) {
  const env = {
    BKV_VAULT_URL: t.url,
    BKV_TOKEN: await t.tokenFor(user),
    BKV_PASSPHRASE: PASSPHRASE,
  };
  const f = fakeContext({ env, answers });
  return { ...f, out: () => f.out().toString() };
}

describe('bkv mode', () => {
  it('hands over the escrowed key, then deletes the escrow record and says so', async () => {
    await (await t.clientFor('alice')).enroll(PASSPHRASE, KEY);
    const f = await fake('alice');
    expect(await modeCommand.run(['key', '--show'], f.ctx)).toBe(0);

    expect(f.out()).toContain(formatRecoveryKey(KEY));
    expect(f.out()).toMatch(/escrow record is deleted from the vault/);
    expect(await (await t.clientFor('alice')).status()).toBeNull();

    const again = await fake('alice');
    expect(await modeCommand.run(['key', '--show'], again.ctx)).toBe(0);
    expect(again.out()).toMatch(/no key is escrowed/);
  });

  it('escrows the same 64-digit key again when switching back to a passphrase', async () => {
    const f = await fake('bob', [formatRecoveryKey(KEY).toUpperCase()]);
    expect(await modeCommand.run(['passphrase'], f.ctx)).toBe(0);
    expect(f.out()).toMatch(/escrowed again under a passphrase \(version 1\)/);

    const recovered = await (await t.clientFor('bob')).recover(PASSPHRASE);
    expect(Buffer.from(recovered.key).equals(KEY)).toBe(true);
  });

  it('keeps the escrow when the key file given is not the escrowed key', async () => {
    await (await t.clientFor('carol')).enroll(PASSPHRASE, KEY);
    const other = path.join(dir, 'other.txt');
    writeFileSync(other, formatRecoveryKey(new Uint8Array(32)) + '\n');

    const f = await fake('carol');
    expect(await modeCommand.run(['key', '--key-file', other], f.ctx)).toBe(1);
    expect(f.err()).toMatch(/does not hold the escrowed key; nothing deleted/);
    expect(await (await t.clientFor('carol')).status()).toMatchObject({ state: 'active' });
  });

  it('writes the key to a file before deleting the escrow', async () => {
    await (await t.clientFor('dave')).enroll(PASSPHRASE, KEY);
    const file = path.join(dir, 'dave-key.txt');
    expect(await modeCommand.run(['key', '--out', file], (await fake('dave')).ctx)).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(formatRecoveryKey(KEY) + '\n');
    expect(await (await t.clientFor('dave')).status()).toBeNull();
  });

  it('refuses to delete the escrow when the key would reach nobody', async () => {
    await expect(modeCommand.run(['key'], (await fake('erin')).ctx)).rejects.toThrow(
      /--out, --show or --key-file/,
    );
  });

  it('encrypts and decrypts with the key recovered from the vault by passphrase', async () => {
    await (await t.clientFor('frank')).enroll(PASSPHRASE, KEY);
    const input = path.join(dir, 'notes.txt');
    const backup = path.join(dir, 'notes.bkv');
    writeFileSync(input, 'my notes\n');

    const enc = await fake('frank');
    expect(await encryptCommand.run([input, '-o', backup, '--recover'], enc.ctx)).toBe(0);
    const dec = await fake('frank');
    expect(await decryptCommand.run([backup, '--recover'], dec.ctx)).toBe(0);
    expect(dec.out()).toBe('my notes\n');
  });
});
