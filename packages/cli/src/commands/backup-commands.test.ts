/**
 * `bkv key`, `bkv encrypt` and `bkv decrypt` driven through their commands with files in a
 * temporary folder and a context whose terminal, pipes and prompt the test controls.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatRecoveryKey } from '@bkv/client';
import { fakeContext, type FakeOptions } from '../fake-context.testing';
import { decryptCommand } from './decrypt';
import { encryptCommand } from './encrypt';
import { keyCommand } from './key';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => 3 * i + 1);
const OTHER = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);

/** A context with `stdin` as piped input (or a terminal), answers for prompts, TTY flags. */
const fake = (options: FakeOptions = {}) => fakeContext(options);

let dir: string;
let keyFile: string;
let plainFile: string;
const PLAINTEXT = Buffer.from('a backup of my photos\n'.repeat(100_000));

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bkv-cli-'));
  keyFile = path.join(dir, 'key.txt');
  writeFileSync(keyFile, formatRecoveryKey(KEY) + '\n');
  plainFile = path.join(dir, 'photos.tar');
  writeFileSync(plainFile, PLAINTEXT);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Encrypts the plaintext file into `photos.bkv` with the key file; returns its path. */
async function encrypted(): Promise<string> {
  const backup = path.join(dir, 'photos.bkv');
  const { ctx } = fake();
  expect(await encryptCommand.run([plainFile, '-o', backup, '--key-file', keyFile], ctx)).toBe(0);
  return backup;
}

describe('bkv key', () => {
  it('prints a new key as 16 groups of 4 digits, with advice on stderr', async () => {
    const f = fake();
    expect(await keyCommand.run(['new'], f.ctx)).toBe(0);
    expect(f.out().toString()).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}\n$/);
    expect(f.err()).toMatch(/write these 64 digits down/);
  });

  it('writes a new key to a file only its owner can read, and never over another', async () => {
    const file = path.join(dir, 'new-key.txt');
    expect(await keyCommand.run(['new', '--out', file], fake().ctx)).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}\n$/);
    await expect(keyCommand.run(['new', '--out', file], fake().ctx)).rejects.toThrow(/exists/);
  });

  it('checks a typed key and says where it is wrong', async () => {
    const good = fake({ answers: [formatRecoveryKey(KEY).toUpperCase()] });
    expect(await keyCommand.run(['check'], good.ctx)).toBe(0);
    expect(good.out().toString()).toMatch(/well formed/);

    const typo = formatRecoveryKey(KEY).replace(/0/, 'o');
    const bad = fake({ answers: [typo] });
    expect(await keyCommand.run(['check'], bad.ctx)).toBe(29);
    expect(bad.err()).toMatch(/'o' at position \d+ is not a hex digit; did you mean '0'\?/);

    const short = fake({ stdin: Buffer.from(formatRecoveryKey(KEY).slice(0, -1)) });
    expect(await keyCommand.run(['check'], short.ctx)).toBe(29);
    expect(short.err()).toMatch(/63 digits found, 64 needed/);
  });

  it('tells from the header alone whether a key opens a backup', async () => {
    const backup = await encrypted();
    const right = fake({ answers: [formatRecoveryKey(KEY)] });
    expect(await keyCommand.run(['check', '--backup', backup], right.ctx)).toBe(0);
    expect(right.out().toString()).toMatch(/opens/);

    const wrong = fake({ answers: [formatRecoveryKey(OTHER)] });
    expect(await keyCommand.run(['check', '--backup', backup], wrong.ctx)).toBe(20);
    expect(wrong.err()).toMatch(/made with a different key/);
  });
});

describe('bkv encrypt and decrypt', () => {
  it('round-trips a file, with the key from a file', async () => {
    const backup = await encrypted();
    const restored = path.join(dir, 'restored.tar');
    const f = fake();
    expect(await decryptCommand.run([backup, '-o', restored, '--key-file', keyFile], f.ctx)).toBe(
      0,
    );
    expect(readFileSync(restored).equals(PLAINTEXT)).toBe(true);
    expect(f.err()).toMatch(/decrypted .* into .*restored\.tar/);
  });

  it('reads stdin and writes stdout when no files are named', async () => {
    const enc = fake({ stdin: PLAINTEXT });
    expect(await encryptCommand.run(['--key-file', keyFile], enc.ctx)).toBe(0);
    const dec = fake({ stdin: enc.out() });
    expect(await decryptCommand.run(['-', '--key-file', keyFile], dec.ctx)).toBe(0);
    expect(dec.out().equals(PLAINTEXT)).toBe(true);
  });

  it('asks for the 64-digit key when none is given and the input is a file', async () => {
    const backup = await encrypted();
    const f = fake({ answers: [formatRecoveryKey(KEY).replace(/ /g, '-')] });
    expect(await decryptCommand.run([backup], f.ctx)).toBe(0);
    expect(f.out().equals(PLAINTEXT)).toBe(true);
  });

  it('draws a progress bar on a terminal and none into a pipe', async () => {
    const backup = await encrypted();
    const terminal = fake({ tty: true, answers: [] });
    const restored = path.join(dir, 'restored.tar');
    const args = [backup, '-o', restored, '--key-file', keyFile];
    expect(await decryptCommand.run(args, terminal.ctx)).toBe(0);
    expect(terminal.err()).toMatch(/decrypting \[#+\] 100% /);

    const piped = fake();
    expect(await decryptCommand.run([...args, '--force'], piped.ctx)).toBe(0);
    expect(piped.err()).not.toMatch(/decrypting/);
  });

  it('refuses to write a backup to a terminal, or over a file without --force', async () => {
    const tty = fake({ tty: true });
    await expect(encryptCommand.run([plainFile, '--key-file', keyFile], tty.ctx)).rejects.toThrow(
      /binary/,
    );
    const backup = await encrypted();
    const again = encryptCommand.run([plainFile, '-o', backup, '--key-file', keyFile], fake().ctx);
    await expect(again).rejects.toThrow(/exists/);
  });
});

describe('bkv decrypt failures', () => {
  /** Decrypts `file` into restored.tar; returns the exit code, stderr, and whether it exists. */
  async function decryptFails(file: string, key = keyFile) {
    const restored = path.join(dir, 'restored.tar');
    const f = fake();
    const code = await decryptCommand.run([file, '-o', restored, '--key-file', key], f.ctx);
    return { code, err: f.err(), written: existsSync(restored) };
  }

  it('names a wrong key, exit 20, and leaves no output file', async () => {
    const backup = await encrypted();
    const otherKey = path.join(dir, 'other.txt');
    writeFileSync(otherKey, Buffer.from(OTHER));
    expect(await decryptFails(backup, otherKey)).toEqual({
      code: 20,
      err: expect.stringMatching(/made with a different key\nnothing was written/),
      written: false,
    });
  });

  it('names damage with its byte offset, exit 21', async () => {
    const backup = await encrypted();
    const bytes = readFileSync(backup);
    // Chunk 1 starts after the 97-byte header and chunk 0 (5 + 1 MiB + 16 bytes).
    bytes[2_000_000]! ^= 0x10;
    writeFileSync(backup, bytes);
    const result = await decryptFails(backup);
    expect(result).toMatchObject({ code: 21, written: false });
    expect(result.err).toMatch(/chunk 1 \(bytes 1048694 to 2097290\) is damaged/);
  });

  it('names a truncated backup, exit 22', async () => {
    const backup = await encrypted();
    writeFileSync(backup, readFileSync(backup).subarray(0, 1_500_000));
    const result = await decryptFails(backup);
    expect(result).toMatchObject({ code: 22, written: false });
    expect(result.err).toMatch(/ends at byte 1500000, inside chunk 1/);
  });

  it('names bytes after the end, exit 23', async () => {
    const backup = await encrypted();
    writeFileSync(backup, Buffer.concat([readFileSync(backup), Buffer.from('x')]));
    expect(await decryptFails(backup)).toMatchObject({ code: 23, written: false });
  });

  it('names a key file that does not hold a key, exit 29', async () => {
    const backup = await encrypted();
    const typo = path.join(dir, 'typo.txt');
    writeFileSync(typo, formatRecoveryKey(KEY) + ' 1234\n');
    const result = await decryptFails(backup, typo);
    expect(result.code).toBe(29);
    expect(result.err).toMatch(/68 digits found, 64 needed; 1 group\(s\) of 4 too many/);
  });
});
