/**
 * An HSM that fails in the middle of a finish. The answer is 503 HSM_UNAVAILABLE, documented as
 * "retry helps": the retry of that finish must find its recovery still open, and a record on
 * its last guess must come through with the right passphrase instead of being destroyed at the
 * next start. The vault's HSM is the real SoftHSM adapter; one call of it is made to fail.
 */
import { randomBytes } from 'node:crypto';
import {
  BkvError,
  deriveRecordKeys,
  fromBase64url,
  openBackupKey,
  oprfBlind,
  oprfFinalize,
  stretchPassphrase,
  toBase64url,
} from '@bkv/protocol';
import type { Hsm } from '@bkv/hsm';
import { call } from './support/http';
import { startTestVault, type TestVault } from './support/test-vault';

let t: TestVault;
/** How many of the next `open` calls fail as if the HSM had gone away. */
let failingOpens = 0;

beforeAll(async () => {
  t = await startTestVault();
  const deps = t.vault.deps as { hsm: Hsm };
  const real = deps.hsm;
  deps.hsm = new Proxy(real, {
    get(target, name) {
      if (name === 'open' && failingOpens > 0) {
        failingOpens--;
        return () => Promise.reject(new BkvError('HSM_UNAVAILABLE', 'the HSM went away'));
      }
      const value = Reflect.get(target, name) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
});

afterAll(async () => {
  await t.close();
});

it('keeps a recovery open when the HSM fails in its finish, for the retry', async () => {
  const user = 'last-guess-user';
  const token = await t.tokenFor(user);
  const client = await t.clientFor(user);
  const enrolled = await client.enroll('the right passphrase', undefined, { guessLimit: 1 });
  const record = await client.status();
  if (record?.state !== 'active') throw new Error('the enrolled record is not active');
  const realmId = fromBase64url((await client.realm()).realmId)!;

  // The client's side of a recovery, by hand, so that the test holds the recovery id.
  const input = await stretchPassphrase(
    'the right passphrase',
    fromBase64url(record.salt)!,
    record.kdf,
  );
  const { blind, blindedElement } = oprfBlind(input, (n) => randomBytes(n));
  const started = await call(t.url, 'POST', '/v1/recoveries', {
    token,
    json: { version: record.version, blindedElement: toBase64url(blindedElement) },
  });
  expect([started.status, started.body.guessesRemaining]).toEqual([201, 0]);
  const evaluated = fromBase64url(started.body.evaluatedElement)!;
  const { unlockTag, wrapKey } = deriveRecordKeys(oprfFinalize(input, blind, evaluated), realmId);
  const finish = () =>
    call(t.url, 'POST', `/v1/recoveries/${started.body.recoveryId}/finish`, {
      token,
      json: { unlockTag: toBase64url(unlockTag) },
    });

  failingOpens = 1;
  const failed = await finish();
  expect([failed.status, failed.body.error.code]).toEqual([503, 'HSM_UNAVAILABLE']);

  const retried = await finish();
  expect(retried.status).toBe(200);
  const key = await openBackupKey(wrapKey, fromBase64url(retried.body.sealedKey)!);
  expect(Buffer.from(key).equals(Buffer.from(enrolled.key))).toBe(true);
  // Its only guess is back, and the next recovery works as any other.
  expect(await client.status()).toMatchObject({ state: 'active', guessesRemaining: 1 });
  expect((await client.recover('the right passphrase')).version).toBe(enrolled.version);
  // The finish that went through used its recovery up.
  expect((await finish()).body.error.code).toBe('RECOVERY_NOT_FOUND');
});
