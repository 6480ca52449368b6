/**
 * A token that goes away and comes back: calls fail with HSM_UNAVAILABLE while it is gone and
 * work again afterwards, in the same process, with the same realm and the same stored keys.
 */
import { readdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import { p256_oprf } from '@noble/curves/nist.js';
import { BkvError } from '@bkv/protocol';
import { findSlotByLabel } from './module';
import { openTestHsm, withRawSession, type TestHsm, type TestToken } from './testing';
import type { Pkcs11Hsm } from './pkcs11-hsm';

let token: TestToken;
let hsm: Pkcs11Hsm;
let close: TestHsm['close'] | undefined;

beforeAll(async () => ({ token, hsm, close } = await openTestHsm()));
afterAll(() => close?.());

/** SoftHSM keeps each token in a folder named by UUID; ours is the one whose label we gave. */
function tokenFolder(): string {
  const tokens = join(token.dataDir, 'tokens');
  const mine = readdirSync(tokens).find((dir) =>
    readFileSync(join(tokens, dir, 'token.object')).includes(token.config.tokenLabel),
  );
  if (mine === undefined) throw new Error('token folder not found');
  return join(tokens, mine);
}

async function pingUntilReady(withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if ((await codeOf(hsm.ping())) === undefined) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => (e instanceof BkvError ? e.code : String(e)),
  );
}

it('reports HSM_UNAVAILABLE while the token is gone, recovers when it returns', async () => {
  const key = await hsm.makeOprfKey();
  const blinded = p256_oprf.oprf.blind(Uint8Array.of(7)).blinded;
  const before = await hsm.evaluateOprf(key, blinded);
  const sealed = await hsm.seal(Uint8Array.of(1, 2, 3), Uint8Array.of(9));

  // Out of SoftHSM's token folder altogether: it treats every folder there as a token.
  const folder = tokenFolder();
  const away = join(token.dataDir, `away-${basename(folder)}`);
  renameSync(folder, away);
  try {
    // Operations use session copies of the realm keys, which SoftHSM keeps in memory; a ping
    // (the readiness probe) touches the token itself, and its failure retires the connection.
    expect(await codeOf(hsm.ping())).toBe('HSM_UNAVAILABLE');
    expect(await codeOf(hsm.seal(Uint8Array.of(1), Uint8Array.of(2)))).toBe('HSM_UNAVAILABLE');
    expect(await codeOf(hsm.evaluateOprf(key, blinded))).toBe('HSM_UNAVAILABLE');
    expect(await codeOf(hsm.open(sealed, Uint8Array.of(9)))).toBe('HSM_UNAVAILABLE');
  } finally {
    renameSync(away, folder);
  }

  // Readiness probes retry; the adapter re-initialises the module at most once a second.
  expect(await pingUntilReady(5_000)).toBe(true);
  expect(await hsm.evaluateOprf(key, blinded)).toEqual(before);
  expect(await hsm.open(sealed, Uint8Array.of(9))).toEqual(Uint8Array.of(1, 2, 3));
});

it('reports HSM_UNAVAILABLE when its sessions close, then logs in again', async () => {
  const key = await hsm.makeOprfKey();
  const blinded = p256_oprf.oprf.blind(Uint8Array.of(8)).blinded;
  const before = await hsm.evaluateOprf(key, blinded);

  // C_CloseAllSessions (PKCS#11 v2.40 §5.6) also logs the application out of the token.
  await withRawSession(token.config, (lib) => {
    lib.C_CloseAllSessions(findSlotByLabel(lib, token.config.tokenLabel)!);
  });

  expect(await codeOf(hsm.evaluateOprf(key, blinded))).toBe('HSM_UNAVAILABLE');
  expect(await hsm.evaluateOprf(key, blinded)).toEqual(before);
  await expect(hsm.ping()).resolves.toBeUndefined();
});
