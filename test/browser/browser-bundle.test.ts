/**
 * The browser entry of `@bkv/client`, bundled as an app's bundler would for a browser: it must
 * resolve without any Node built-in, and leave the Node stream modules out.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { transformSync } from 'esbuild';
import { bundleForBrowser, type Bundle } from './bundle';

const CLIENT_SRC = path.resolve(__dirname, '..', '..', 'packages', 'client', 'src');

describe('the browser bundle of @bkv/client', () => {
  let bundle: Bundle;

  beforeAll(async () => {
    bundle = await bundleForBrowser('@bkv/client');
  });

  it('resolves the package to its browser entry and bundles with no Node built-in', () => {
    expect(bundle.inputs).toContain(path.join(CLIENT_SRC, 'browser.ts'));
    expect(bundle.inputs).not.toContain(path.join(CLIENT_SRC, 'index.ts'));
    expect(bundle.inputs.filter((input) => input.startsWith('node:'))).toEqual([]);
  });

  it('uses neither Buffer nor process in the workspace code it bundles', () => {
    const ours = bundle.inputs.filter((input) => input.includes(`${path.sep}packages${path.sep}`));

    // Compiled first, so that comments naming them do not count.
    const offending = ours.filter((file) => {
      const { code } = transformSync(readFileSync(file, 'utf8'), { loader: 'ts' });
      return /\b(Buffer|process)\b/.test(code);
    });
    expect(ours.length).toBeGreaterThan(20);
    expect(offending).toEqual([]);
  });

  it('leaves out the Node stream modules and keeps the WebCrypto backup path', () => {
    const backup = (file: string) => path.join(CLIENT_SRC, 'backup', file);

    for (const file of ['encrypt-stream.ts', 'decrypt-stream.ts', 'chunk-cipher.ts']) {
      expect(bundle.inputs).not.toContain(backup(file));
    }
    expect(bundle.inputs).toContain(backup('web-backup.ts'));
  });

  it('cannot bundle the Node entry for a browser, hence the browser entry', async () => {
    // The Node entry, which also exports the streams, pulls node:stream and node:crypto.
    await expect(bundleForBrowser(path.join(CLIENT_SRC, 'index.ts'))).rejects.toThrow(/node:/);
  });
});
