/**
 * Test support, imported only by tests (`@bkv/hsm/testing`): a fresh SoftHSM token per test
 * file, and a raw PKCS#11 session for assertions the `Hsm` interface rightly cannot make.
 *
 * One process (one jest worker) uses one data folder: the first call makes it under the system
 * temp folder and points SOFTHSM2_CONF at it; later calls in the same process, and child
 * processes that inherit SOFTHSM2_CONF, reuse it. Each call makes a token with a unique label.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as pkcs11js from 'pkcs11js';
import type { Handle, PKCS11, Template } from 'pkcs11js';
import type { HsmConfig } from './config';
import { ensureDevToken } from './dev-token';
import { acquireModule, findSlotByLabel, padLabel, releaseModule } from './module';
import { findObjects, readAttribute } from './objects';
import { openHsm } from './open-hsm';
import type { Pkcs11Hsm } from './pkcs11-hsm';

export interface TestToken {
  config: HsmConfig;
  dataDir: string;
  confPath: string;
  /**
   * Deletes this test's token (close every `Hsm` on it first). The process's folder stays:
   * SoftHSM may still hold it, and a folder made again under a live module once left a token
   * that child processes could not log in to.
   */
  cleanup: () => Promise<void>;
}

/** The data folder of this process: from SOFTHSM2_CONF when set, else a new temp folder. */
function processDataDir(): string {
  const conf = process.env.SOFTHSM2_CONF;
  if (conf !== undefined && conf !== '' && basename(conf) === 'softhsm2.conf') return dirname(conf);
  const dir = mkdtempSync(join(tmpdir(), 'bkv-hsm-'));
  // Removed when a plain Node process exits; a jest worker may be stopped before its hooks run.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A new token with a unique label, ready for `openHsm(config, { initialize: true })`. */
export async function makeTestToken(
  options: { poolSize?: number; keyLabelPrefix?: string } = {},
): Promise<TestToken> {
  const tokenLabel = `test-${process.pid}-${randomBytes(6).toString('hex')}`;
  const token = await ensureDevToken({ dataDir: processDataDir(), tokenLabel, ...options });
  const cleanup = async () => {
    // What `softhsm2-util --delete-token` does: remove the token's folder, found by label.
    const tokens = join(token.dataDir, 'tokens');
    for (const dir of readdirSync(tokens)) {
      const object = join(tokens, dir, 'token.object');
      if (existsSync(object) && readFileSync(object).includes(padLabel(tokenLabel))) {
        rmSync(join(tokens, dir), { recursive: true, force: true });
      }
    }
    for (const file of [`${tokenLabel}.pin`, `${tokenLabel}.so-pin`]) {
      rmSync(join(token.dataDir, 'pins', file), { force: true });
    }
  };
  return { ...token, cleanup };
}

/** An initialised `Hsm` on a token of its own, with the one call that undoes both. */
export interface TestHsm {
  hsm: Pkcs11Hsm;
  token: TestToken;
  /** Closes the `Hsm`, then deletes the token. */
  close: () => Promise<void>;
}

/**
 * A fresh token (see `makeTestToken`) with an `Hsm` opened on it with `initialize: true`,
 * the setup most tests of one file share. Should opening fail, the token is deleted again.
 */
export async function openTestHsm(
  options: Parameters<typeof makeTestToken>[0] = {},
): Promise<TestHsm> {
  const token = await makeTestToken(options);
  let hsm: Pkcs11Hsm;
  try {
    hsm = await openHsm(token.config, { initialize: true });
  } catch (err) {
    await token.cleanup();
    throw err;
  }
  const close = async () => {
    await hsm.close();
    await token.cleanup();
  };
  return { hsm, token, close };
}

/**
 * Runs `fn` with a logged-in session of its own on the config's token, through the same loaded
 * module as the adapter (so session objects of the whole process are visible, §4.4).
 */
export async function withRawSession<T>(
  config: HsmConfig,
  fn: (lib: PKCS11, session: Handle) => T | Promise<T>,
): Promise<T> {
  const lib = acquireModule(config.modulePath);
  try {
    const slot = findSlotByLabel(lib, config.tokenLabel);
    if (slot === undefined) throw new Error(`no token ${config.tokenLabel}`);
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      try {
        lib.C_Login(session, pkcs11js.CKU_USER, config.pin.reveal());
      } catch (err) {
        if (!(err instanceof Error && err.message === 'CKR_USER_ALREADY_LOGGED_IN')) throw err;
      }
      return await fn(lib, session);
    } finally {
      try {
        lib.C_CloseSession(session);
      } catch {
        // `fn` may have closed it (C_CloseAllSessions).
      }
    }
  } finally {
    releaseModule(config.modulePath);
  }
}

/** Handles of the objects matching `template`, seen from a raw session. */
export function findRaw(lib: PKCS11, session: Handle, template: Template): Handle[] {
  return findObjects(lib, session, template);
}

/**
 * How many session objects (CKA_TOKEN false) exist on the token, for leak checks: all but the
 * adapters' copies of the realm keys, which carry the realm keys' labels.
 */
export async function countSessionObjects(config: HsmConfig): Promise<number> {
  return withRawSession(config, (lib, session) => {
    const found = findObjects(lib, session, [{ type: pkcs11js.CKA_TOKEN, value: false }]);
    const isRealmCopy = (handle: Handle) =>
      readAttribute(lib, session, handle, pkcs11js.CKA_LABEL)
        .toString('utf8')
        .startsWith(config.keyLabelPrefix);
    return found.filter((handle) => !isRealmCopy(handle)).length;
  });
}
