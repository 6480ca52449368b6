import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BkvError } from '@bkv/protocol';
import { ensureDevToken } from './dev-token';
import { makeTestToken } from './testing';
import { openHsm } from './open-hsm';

describe('dev token', () => {
  it('is idempotent: a second call finds the same token, PIN and realm', async () => {
    const token = await makeTestToken();
    try {
      const first = await openHsm(token.config, { initialize: true });
      const realmId = first.realmId;
      await first.close();

      const again = await ensureDevToken({
        dataDir: token.dataDir,
        tokenLabel: token.config.tokenLabel,
      });
      expect(again.config.pin.reveal()).toBe(token.config.pin.reveal());
      const reopened = await openHsm(again.config);
      expect(reopened.realmId).toEqual(realmId);
      await reopened.close();
    } finally {
      await token.cleanup();
    }
  });

  it('keeps its conf and PIN files private and points SOFTHSM2_CONF at the conf', async () => {
    const token = await makeTestToken();
    try {
      expect(process.env.SOFTHSM2_CONF).toBe(token.confPath);
      const pinFile = `${token.dataDir}/pins/${token.config.tokenLabel}.pin`;
      expect(statSync(pinFile).mode & 0o777).toBe(0o600);
      expect(statSync(token.confPath).mode & 0o077).toBe(0);
    } finally {
      await token.cleanup();
    }
  });

  it('refuses a second conf in a process that uses one, writing nothing', async () => {
    const token = await makeTestToken();
    const elsewhere = join(token.dataDir, 'elsewhere');
    try {
      const err: unknown = await ensureDevToken({ dataDir: elsewhere, tokenLabel: 'x' }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BkvError);
      expect((err as BkvError).message).toContain('one SoftHSM conf');
      expect(existsSync(elsewhere)).toBe(false);
    } finally {
      await token.cleanup();
    }
  });
});
