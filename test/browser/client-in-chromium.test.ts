/**
 * `@bkv/client` in a real browser: the browser bundle, loaded by a page of another origin than
 * the vault's, escrows and recovers a key against a real vault (SoftHSM, SQLite) through CORS,
 * reads the 64-digit key, and writes backups that the Node streams read, and the other way.
 */
import type * as Client from '@bkv/client';
import { decryptBackup, encryptBackup } from '@bkv/client';
import type { Browser, Page } from 'playwright-core';
import { startTestVault, TEST_KDF, type TestVault } from '../support/test-vault';
import { bundleForBrowser } from './bundle';
import { describeWithChromium, launchChromium } from './chromium';
import { servePage, type PageServer } from './page-server';

/** What the page sees: the bundle's global. */
type PageWindow = typeof globalThis & { bkv: typeof Client };

const PASSPHRASE = 'correct horse battery staple';

/** Three chunks and a short final one at a 4 KiB chunk size. */
const PLAINTEXT = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 31 + 7) & 0xff);

describeWithChromium('@bkv/client in Chromium', () => {
  let vault: TestVault;
  let app: PageServer;
  let stranger: PageServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const { code } = await bundleForBrowser('@bkv/client');
    [app, stranger] = await Promise.all([servePage(code), servePage(code)]);
    vault = await startTestVault({ cors: { origins: [app.origin] } });
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${app.origin}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([vault?.close(), app?.close(), stranger?.close()]);
  });

  afterEach(() => {
    expect(pageErrors).toEqual([]);
  });

  it('enrolls, refuses a wrong passphrase with the guesses left, and recovers', async () => {
    const token = await vault.tokenFor('web-user');
    const seen = await page.evaluate(
      async ({ url, token, kdf, passphrase }) => {
        const { bkv } = globalThis as PageWindow;
        const client = new bkv.VaultClient({ url, token: () => token, kdf });
        const enrolled = await client.enroll(passphrase, undefined, { guessLimit: 5 });

        // A wrong passphrase spends a guess and says how many are left.
        const wrong = await client.recover(`${passphrase}!`).then(
          () => undefined,
          (error: unknown) => {
            if (!(error instanceof bkv.BkvError)) throw error;
            return { code: error.code, guessesRemaining: error.details.guessesRemaining };
          },
        );
        const recovered = await client.recover(passphrase);
        return {
          origin: location.origin,
          enrolled: { ...enrolled, key: Array.from(enrolled.key) },
          wrong,
          recovered: { ...recovered, key: Array.from(recovered.key) },
        };
      },
      { url: vault.url, token, kdf: TEST_KDF, passphrase: PASSPHRASE },
    );

    expect(seen.origin).not.toBe(new URL(vault.url).origin);
    expect(seen.enrolled).toMatchObject({ version: 1, guessLimit: 5, guessesRemaining: 5 });
    expect(seen.enrolled.key).toHaveLength(32);
    expect(seen.wrong).toEqual({ code: 'WRONG_PASSPHRASE', guessesRemaining: 4 });
    expect(seen.recovered).toEqual({ key: seen.enrolled.key, version: 1 });
  });

  it('cannot reach the vault from a page of an origin not on its list', async () => {
    const other = await browser.newPage();
    try {
      await other.goto(`${stranger.origin}/`);
      const code = await other.evaluate(async (url) => {
        const { bkv } = globalThis as PageWindow;
        const client = new bkv.VaultClient({ url, token: () => 'unused' });
        return client.realm().then(
          () => 'OK',
          (error: unknown) => (error instanceof bkv.BkvError ? error.code : String(error)),
        );
      }, vault.url);

      expect(code).toBe('NETWORK');
    } finally {
      await other.close();
    }
  });

  it('writes the key as 64 digits and reads it back, naming a misread digit', async () => {
    const key = Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
    const seen = await page.evaluate((key) => {
      const { bkv } = globalThis as PageWindow;
      const written = bkv.formatRecoveryKey(Uint8Array.from(key));
      const read = bkv.parseRecoveryKey(written.toUpperCase().replaceAll(' ', '-'));
      let refused: { code: string; position: number | undefined } | undefined;
      try {
        bkv.parseRecoveryKey(`o${written.slice(1)}`);
      } catch (error) {
        if (!(error instanceof bkv.RecoveryKeyError)) throw error;
        refused = { code: error.code, position: error.position };
      }
      return { written, read: Array.from(read), refused };
    }, key);

    const hex = Buffer.from(key).toString('hex');
    expect(seen.written).toBe(hex.match(/.{4}/g)!.join(' '));
    expect(seen.read).toEqual(key);
    expect(seen.refused).toEqual({ code: 'NOT_HEX', position: 1 });
  });

  it('writes backups with WebCrypto that Node reads, and reads those of Node', async () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
    const fromNode = await encryptBackup(key, PLAINTEXT, { chunkSize: 4096 });

    const seen = await page.evaluate(
      async ({ key, plaintext, fromNode }) => {
        const { bkv } = globalThis as PageWindow;
        const collect = async (pieces: AsyncIterable<Uint8Array>) => {
          const parts: number[] = [];
          for await (const piece of pieces) parts.push(...piece);
          return parts;
        };
        const backupKey = Uint8Array.from(key);
        const written = await collect(
          bkv.encryptBackupIterable(backupKey, [Uint8Array.from(plaintext)], { chunkSize: 4096 }),
        );
        const again = await collect(
          bkv.decryptBackupIterable(backupKey, [Uint8Array.from(written)]),
        );
        const read = await collect(
          bkv.decryptBackupIterable(backupKey, [Uint8Array.from(fromNode)]),
        );
        return { written, again, read };
      },
      { key: Array.from(key), plaintext: Array.from(PLAINTEXT), fromNode: Array.from(fromNode) },
    );

    expect(Uint8Array.from(seen.again)).toEqual(PLAINTEXT);
    expect(Uint8Array.from(seen.read)).toEqual(PLAINTEXT);
    expect(await decryptBackup(key, Uint8Array.from(seen.written))).toEqual(PLAINTEXT);
  });

  it('names a backup under another key WRONG_KEY in the browser', async () => {
    const fromNode = await encryptBackup(new Uint8Array(32).fill(1), PLAINTEXT);
    const code = await page.evaluate(async (backup) => {
      const { bkv } = globalThis as PageWindow;
      try {
        for await (const _ of bkv.decryptBackupIterable(new Uint8Array(32), [
          Uint8Array.from(backup),
        ]));
        return 'OK';
      } catch (error) {
        return error instanceof bkv.BackupError ? error.code : String(error);
      }
    }, Array.from(fromNode));

    expect(code).toBe('WRONG_KEY');
  });
});
