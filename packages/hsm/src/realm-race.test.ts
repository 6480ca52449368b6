/**
 * Separate processes racing to initialise the same empty token end with one realm: every
 * process reports the same realm id and the token holds one realm's objects.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as pkcs11js from 'pkcs11js';
import { findRaw, makeTestToken, withRawSession, type TestToken } from './testing';
import { openHsm } from './open-hsm';

const run = promisify(execFile);
const CHILDREN = 3;

let token: TestToken;

beforeAll(async () => {
  token = await makeTestToken();
});

afterAll(async () => {
  await token?.cleanup();
});

it('leaves one realm when three processes initialise the same empty token at once', async () => {
  // The dev token's lock: SoftHSM processes share the data folder, so they can share a lock.
  const lock = join(token.dataDir, `.realm-lock-${token.config.tokenLabel}`);
  const input = JSON.stringify({
    modulePath: token.config.modulePath,
    tokenLabel: token.config.tokenLabel,
    pinFile: join(token.dataDir, 'pins', `${token.config.tokenLabel}.pin`),
  });
  // Loading the sources takes a moment: start together, well after every child has loaded.
  const startAt = String(Date.now() + 4_000);
  const env = { ...process.env, SOFTHSM2_CONF: token.confPath };
  const children = Array.from({ length: CHILDREN }, () =>
    run(process.execPath, [join(__dirname, 'realm-race.child.js'), input, startAt, lock], { env }),
  );
  const ids = (await Promise.all(children)).map((child) => child.stdout);

  expect(ids).toHaveLength(CHILDREN);
  expect(new Set(ids).size).toBe(1);
  expect(ids[0]).toMatch(/^[0-9a-f]{32}$/);

  // This process, which made the token but no realm, finds the same one.
  const hsm = await openHsm(token.config);
  try {
    expect(Buffer.from(hsm.realmId).toString('hex')).toBe(ids[0]);
  } finally {
    await hsm.close();
  }
  const counts = await withRawSession(token.config, (lib, session) => ({
    markers: findRaw(lib, session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA }]).length,
    keys: findRaw(lib, session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }])
      .length,
  }));
  expect(counts).toEqual({ markers: 1, keys: 3 });
});
