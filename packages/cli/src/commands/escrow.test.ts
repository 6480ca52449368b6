/**
 * `bkv enroll`, `recover`, `status` and `forget` through `runCli`, against a real vault: what
 * the user reads and the exit codes scripts branch on.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startTestVault, type TestVault } from '../../../../test/support/test-vault';
import { fakeContext, type FakeOptions } from '../fake-context.testing';
import { runCli } from '../main';

let t: TestVault;
let dir: string;

beforeAll(async () => {
  t = await startTestVault();
  dir = mkdtempSync(path.join(tmpdir(), 'bkv-escrow-cli-'));
});

afterAll(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs one command line as `user`, with the passphrase in the environment unless told. */
async function bkv(
  user: string,
  argv: string[],
  options: FakeOptions & { passphrase?: string } = {},
) {
  const env: NodeJS.ProcessEnv = { BKV_VAULT_URL: t.url, BKV_TOKEN: await t.tokenFor(user) };
  if (options.passphrase !== undefined) env.BKV_PASSPHRASE = options.passphrase;
  const f = fakeContext({ ...options, env });
  const code = await runCli(argv, f.ctx);
  return { code, out: f.out().toString(), err: f.err(), asked: f.asked };
}

describe('bkv escrow commands', () => {
  it('enrolls, writes the key 0600 and recovers the same 64 digits', async () => {
    const keyFile = path.join(dir, 'anna.key');
    const enrolled = await bkv('anna', ['enroll', '--out', keyFile], { passphrase: 'anna pass' });
    expect(enrolled).toMatchObject({ code: 0 });
    expect(enrolled.out).toMatch(/backup key escrowed \(version 1\); 10 wrong passphrases/);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);

    const recovered = await bkv('anna', ['recover', '--show'], { passphrase: 'anna pass' });
    expect(recovered.code).toBe(0);
    expect(recovered.out.trim()).toBe(readFileSync(keyFile, 'utf8').trim());
  });

  it('refuses a key file it cannot write before anything changes in the vault', async () => {
    const taken = path.join(dir, 'taken.key');
    writeFileSync(taken, 'something else\n');
    await bkv('fay', ['enroll'], { passphrase: 'fay pass' });
    const before = await bkv('fay', ['status']);

    const again = await bkv('fay', ['enroll', '--out', taken], { passphrase: 'other pass' });
    expect([again.code, again.err]).toEqual([2, expect.stringMatching(/taken.key exists/)]);
    const nowhere = path.join(dir, 'no-such-folder', 'fay.key');
    expect((await bkv('fay', ['enroll', '--out', nowhere], { passphrase: 'x' })).code).toBe(1);
    const recover = await bkv('fay', ['recover', '--out', taken], { passphrase: 'wrong' });
    expect(recover.code).toBe(2);

    // Still version 1 with every guess left: no enrollment replaced it, no guess was spent.
    expect((await bkv('fay', ['status'])).out).toBe(before.out);
    expect(before.out).toMatch(/\(version 1\); 10 of 10 guesses left/);
    expect(readFileSync(taken, 'utf8')).toBe('something else\n');
    expect(existsSync(path.dirname(nowhere))).toBe(false);
  });

  it('removes the key file it made when the enrollment fails', async () => {
    const keyFile = path.join(dir, 'gus.key');
    const differ = await bkv('gus', ['enroll', '--out', keyFile], { answers: ['one', 'two'] });
    expect(differ.code).toBe(2);
    expect(existsSync(keyFile)).toBe(false);
  });

  it('lets --user win over BKV_TOKEN, as --vault wins over BKV_VAULT_URL', async () => {
    await bkv('hal', ['enroll'], { passphrase: 'hal pass' });
    const env = { BKV_VAULT_URL: t.url, BKV_TOKEN: await t.tokenFor('hal') };
    const f = fakeContext({ env });
    const code = await runCli(['status', '--user', 'ivy', '--data-dir', t.dataDir], f.ctx);
    expect([code, f.out().toString()]).toEqual([0, 'no backup key escrowed\n']);
    const both = fakeContext({ env });
    const twice = ['status', '--user', 'ivy', '--token-file', path.join(dir, 'any')];
    expect(await runCli(twice, both.ctx)).toBe(2);
    expect(both.err()).toMatch(/--user or --token-file, not both/);
  });

  it('asks twice on enroll and refuses two different passphrases', async () => {
    const differ = await bkv('ben', ['enroll'], { answers: ['one', 'two'] });
    expect(differ.code).toBe(2);
    expect(differ.err).toMatch(/the two passphrases differ/);
    expect(differ.asked).toEqual(['Passphrase: ', 'Passphrase again: ']);

    const same = await bkv('ben', ['enroll'], { answers: ['same', 'same'] });
    expect(same.code).toBe(0);
  });

  it('says how many guesses are left, then that the key was destroyed', async () => {
    await bkv('cleo', ['enroll', '--guess-limit', '2'], { passphrase: 'right' });

    const wrong = await bkv('cleo', ['recover', '--show'], { passphrase: 'wrong' });
    expect(wrong).toMatchObject({ code: 10, out: '' });
    expect(wrong.err).toBe('bkv recover: wrong passphrase: 1 guess left\n');
    expect((await bkv('cleo', ['status'])).out).toMatch(/1 of 2 guesses left/);

    const last = await bkv('cleo', ['recover', '--show'], { passphrase: 'wrong again' });
    expect(last.code).toBe(11);
    expect(last.err).toMatch(/destroyed after too many wrong passphrases/);
    expect((await bkv('cleo', ['status'])).out).toMatch(/^destroyed after too many/);
  });

  it('forgets the escrowed key', async () => {
    await bkv('dora', ['enroll'], { passphrase: 'dora' });
    expect((await bkv('dora', ['forget'])).out).toBe('escrowed key deleted\n');
    expect((await bkv('dora', ['status'])).out).toBe('no backup key escrowed\n');
    const none = await bkv('dora', ['recover', '--show'], { passphrase: 'dora' });
    expect(none.code).toBe(12);
  });

  it('refuses a recover that does not say where the key goes', async () => {
    const answer = await bkv('anna', ['recover'], { passphrase: 'anna pass' });
    expect(answer.code).toBe(2);
    expect(answer.err).toMatch(/--out or --show/);
  });

  it('explains an unreachable vault', async () => {
    const f = fakeContext({ env: { BKV_VAULT_URL: 'http://127.0.0.1:9', BKV_TOKEN: 'x' } });
    expect(await runCli(['status'], f.ctx)).toBe(15);
    expect(f.err()).toMatch(/^bkv status: cannot reach the vault/);
  });
});
