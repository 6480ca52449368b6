/**
 * A SoftHSM token for development and tests, under a data folder of its own:
 *
 *   <dataDir>/softhsm2.conf         directories.tokendir = <dataDir>/tokens, file backend
 *   <dataDir>/tokens/               SoftHSM's token folders
 *   <dataDir>/pins/<label>.pin      the generated user PIN (0600)
 *   <dataDir>/pins/<label>.so-pin   the generated security-officer PIN (0600)
 *
 * SoftHSM reads SOFTHSM2_CONF once, when the module is initialised, so a process uses ONE conf
 * file and tells its tokens apart by label. Child processes share the tokens by inheriting
 * SOFTHSM2_CONF. Never for production: the PIN sits in a file beside the token.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import * as pkcs11js from 'pkcs11js';
import { BkvError } from '@bkv/protocol';
import { loadHsmConfig, type HsmConfig } from './config';
import { toBkvError } from './errors';
import { withFileLock } from './file-lock';
import { acquireModule, findSlotByLabel, padLabel, releaseModule } from './module';

/** Where Debian, Ubuntu, Alpine and a source build put SoftHSM's module. */
const SOFTHSM_MODULES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];

export interface DevTokenOptions {
  /** The folder that holds the conf, the tokens and the PIN files. Created if missing. */
  dataDir: string;
  tokenLabel: string;
  /** Defaults to the first SoftHSM module found in the usual places. */
  modulePath?: string;
  poolSize?: number;
  keyLabelPrefix?: string;
  threadNice?: number;
}

export interface DevToken {
  config: HsmConfig;
  dataDir: string;
  /** The conf this process uses; pass it to child processes as SOFTHSM2_CONF. */
  confPath: string;
}

/** The SoftHSM module path on this machine; HSM_UNAVAILABLE when SoftHSM is not installed. */
export function findSoftHsmModule(): string {
  const found = SOFTHSM_MODULES.find((path) => existsSync(path));
  if (found === undefined) throw new BkvError('HSM_UNAVAILABLE', 'SoftHSM is not installed');
  return found;
}

/**
 * Makes sure a token labelled `tokenLabel` exists under `dataDir`, creating the conf, the token
 * and its PINs the first time. Idempotent, and serialised between processes by a lock folder.
 * Sets SOFTHSM2_CONF for this process (and so its children) when unset; fails when it already
 * names another conf, because SoftHSM would not see this folder.
 */
export async function ensureDevToken(options: DevTokenOptions): Promise<DevToken> {
  const dataDir = resolve(options.dataDir);
  const modulePath = options.modulePath ?? findSoftHsmModule();
  const confPath = join(dataDir, 'softhsm2.conf');
  checkConf(confPath);
  writeConf(dataDir, confPath);
  if (process.env.SOFTHSM2_CONF !== confPath) await setEnvironment('SOFTHSM2_CONF', confPath);

  const pinPath = join(dataDir, 'pins', `${options.tokenLabel}.pin`);
  await withFileLock(join(dataDir, '.token-lock'), () => {
    createTokenIfMissing(modulePath, options.tokenLabel, pinPath);
  });
  // If the module was initialised earlier under another conf, the token went elsewhere.
  if (readdirSync(join(dataDir, 'tokens')).length === 0) {
    throw new BkvError('INTERNAL', `SoftHSM in this process does not use ${confPath}`);
  }
  const config = loadHsmConfig({
    modulePath,
    tokenLabel: options.tokenLabel,
    pinFile: pinPath,
    poolSize: options.poolSize,
    keyLabelPrefix: options.keyLabelPrefix,
    threadNice: options.threadNice,
  });
  return { config, dataDir, confPath };
}

/** Writes `<dataDir>/softhsm2.conf` (and the token folder) unless it is already there. */
function writeConf(dataDir: string, confPath: string): void {
  const tokenDir = join(dataDir, 'tokens');
  mkdirSync(tokenDir, { recursive: true, mode: 0o700 });
  mkdirSync(join(dataDir, 'pins'), { recursive: true, mode: 0o700 });
  const conf = [
    '# SoftHSM configuration for a development token (written by @bkv/hsm).',
    `directories.tokendir = ${tokenDir}`,
    'objectstore.backend = file',
    'log.level = ERROR',
    'slots.removable = false',
    '',
  ].join('\n');
  if (!existsSync(confPath) || readFileSync(confPath, 'utf8') !== conf) {
    writeFileSync(confPath, conf, { mode: 0o600 });
  }
}

/** SoftHSM reads one conf per process: a process already pointed elsewhere cannot use this one. */
function checkConf(confPath: string): void {
  const current = process.env.SOFTHSM2_CONF;
  if (current !== undefined && current !== '' && resolve(current) !== confPath) {
    throw new BkvError(
      'INTERNAL',
      `SOFTHSM2_CONF already names ${current}; one process uses one SoftHSM conf`,
    );
  }
}

/**
 * Sets an environment variable where native code (SoftHSM's getenv) sees it, or removes it when
 * `value` is undefined. A test runner may hand this module a copy of `process.env`; a worker
 * thread started with SHARE_ENV writes to the process's real environment.
 */
export async function setEnvironment(name: string, value: string | undefined): Promise<void> {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  const code =
    value === undefined
      ? `delete process.env[${JSON.stringify(name)}];`
      : `process.env[${JSON.stringify(name)}] = ${JSON.stringify(value)};`;
  await new Promise<void>((resolve, reject) => {
    const worker = new Worker(code, { eval: true, env: SHARE_ENV });
    worker.once('error', reject);
    worker.once('exit', () => resolve());
  });
}

/**
 * PKCS#11 v2.40 §5.5: C_InitToken on a free slot (SoftHSM always offers one), then the security
 * officer sets the user PIN with C_InitPIN. The PINs are written before the token exists, so a
 * crash in between leaves a PIN file that the next attempt reuses.
 */
function createTokenIfMissing(modulePath: string, label: string, pinPath: string): void {
  const lib = acquireModule(modulePath);
  try {
    if (findSlotByLabel(lib, label) !== undefined) {
      if (!existsSync(pinPath)) throw new BkvError('INTERNAL', `token ${label} has no PIN file`);
      return;
    }
    const pin = readOrMakeSecret(pinPath);
    const soPin = readOrMakeSecret(pinPath.replace(/\.pin$/, '.so-pin'));

    const free = lib.C_GetSlotList(true).find((slot) => isFree(lib, slot));
    if (free === undefined) throw new BkvError('HSM_UNAVAILABLE', 'no free SoftHSM slot');
    lib.C_InitToken(free, soPin, padLabel(label));

    // The slot number changes once the token is initialised: find it again by label.
    const slot = findSlotByLabel(lib, label);
    if (slot === undefined) throw new BkvError('HSM_UNAVAILABLE', `token ${label} did not appear`);
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      lib.C_Login(session, pkcs11js.CKU_SO, soPin);
      lib.C_InitPIN(session, pin);
      lib.C_Logout(session);
    } finally {
      lib.C_CloseSession(session);
    }
  } catch (err) {
    throw toBkvError(err, 'dev token creation');
  } finally {
    releaseModule(modulePath);
  }
}

/** A slot with an uninitialised token; a slot whose token was deleted under us is not free. */
function isFree(lib: pkcs11js.PKCS11, slot: Buffer): boolean {
  try {
    return (lib.C_GetTokenInfo(slot).flags & pkcs11js.CKF_TOKEN_INITIALIZED) === 0;
  } catch {
    return false;
  }
}

/** A PIN file's content, or a new 24-hex-digit PIN written with mode 0600. */
function readOrMakeSecret(path: string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const secret = randomBytes(12).toString('hex');
  writeFileSync(path, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}
