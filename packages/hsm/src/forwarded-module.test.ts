/**
 * A real module that lacks what the vault needs: p11-kit's RPC client, forwarding PKCS#11 to a
 * `p11-kit server` in front of SoftHSM (another process, reached over a socket, as a network
 * HSM's module reaches its appliance). Its RPC carries no parameters for ECDH, AES key wrap or
 * AES-GCM, so it offers none of them. Opening the realm through it must fail at once, saying
 * what is missing, with nothing created in the token. Needs Debian's p11-kit and
 * p11-kit-modules; without them the test says loudly that it was skipped (a failure instead
 * when `BKV_TEST_REQUIRE_P11KIT=1`, as in CI, which installs them).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as pkcs11js from 'pkcs11js';
import { BkvError } from '@bkv/protocol';
import { setEnvironment } from './dev-token';
import { openHsm } from './open-hsm';
import { findRaw, makeTestToken, withRawSession, type TestToken } from './testing';

const CLIENT_MODULES = [
  '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so',
  '/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so',
  '/usr/lib64/pkcs11/p11-kit-client.so',
];
const clientModule = CLIENT_MODULES.find((path) => existsSync(path));
const hasServer = spawnSync('p11-kit', ['--help'], { stdio: 'ignore' }).status === 0;
const TITLE = 'a forwarding module without ECDH, key wrap or AES-GCM';

async function refusal(promise: Promise<unknown>): Promise<BkvError> {
  const err = await promise.then(
    () => new Error('opened'),
    (e: unknown) => e,
  );
  if (!(err instanceof BkvError)) throw err;
  return err;
}

function suite(): void {
  let token: TestToken;
  let server: ChildProcess;
  let folder: string;
  let config: TestToken['config'];

  beforeAll(async () => {
    token = await makeTestToken();
    folder = mkdtempSync(join(tmpdir(), 'bkv-p11kit-'));
    const socket = join(folder, 'socket');
    // The server inherits SOFTHSM2_CONF, so it sees this test's token.
    server = spawn(
      'p11-kit',
      [
        'server',
        '-f',
        '-n',
        socket,
        '-p',
        token.config.modulePath,
        `pkcs11:token=${token.config.tokenLabel}`,
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100 && !existsSync(socket); i++) await sleep(50);
    if (!existsSync(socket)) throw new Error('p11-kit server did not start');
    // Read by the client module inside this process, so set where native code sees it.
    await setEnvironment('P11_KIT_SERVER_ADDRESS', `unix:path=${socket}`);
    config = { ...token.config, modulePath: clientModule! };
  });

  afterAll(async () => {
    await setEnvironment('P11_KIT_SERVER_ADDRESS', undefined);
    server?.kill();
    rmSync(folder, { recursive: true, force: true });
    await token?.cleanup();
  });

  it('refuses to create the realm, names what is missing and creates nothing', async () => {
    const err = await refusal(openHsm(config, { initialize: true }));
    expect(err.code).toBe('HSM_AUTH_FAILED');
    expect(err.message).toContain(`token ${config.tokenLabel}`);
    for (const name of ['CKM_ECDH1_DERIVE', 'CKM_AES_KEY_WRAP', 'CKM_AES_GCM']) {
      expect(err.message).toContain(`${name}, to `);
    }
    // It forwards key generation and HMAC: those are not reported missing.
    for (const name of ['CKM_AES_KEY_GEN', 'CKM_GENERIC_SECRET_KEY_GEN', 'CKM_SHA256_HMAC']) {
      expect(err.message).not.toContain(name);
    }
    // Seen straight through SoftHSM: the token holds no object at all, so no realm keys.
    const objects = await withRawSession(token.config, (lib, session) =>
      findRaw(lib, session, [{ type: pkcs11js.CKA_TOKEN, value: true }]),
    );
    expect(objects).toHaveLength(0);
  });

  it('refuses to open it too, before the realm is looked for', async () => {
    const err = await refusal(openHsm(config, { connectTimeoutMs: 0 }));
    expect(err.code).toBe('HSM_AUTH_FAILED');
    expect(err.message).toContain('CKM_ECDH1_DERIVE, to derive (OPRF evaluation): not offered');
    expect(err.message).not.toContain('realm is not initialised');
  });
}

if (clientModule !== undefined && hasServer) {
  describe(TITLE, suite);
} else if (process.env.BKV_TEST_REQUIRE_P11KIT === '1') {
  it(`${TITLE}: has p11-kit to test with`, () => {
    throw new Error('BKV_TEST_REQUIRE_P11KIT=1 but p11-kit or its client module is missing');
  });
} else {
  console.warn(
    `\n*** SKIPPED: "${TITLE}" needs p11-kit and p11-kit-client.so ` +
      '(Debian: apt-get install p11-kit p11-kit-modules). ***\n',
  );
  it.skip(`${TITLE} (p11-kit is not installed)`, () => undefined);
}
