/**
 * Full recoveries through HTTP with the client's own work taken out of the loop. Each user is
 * enrolled, then stretched and blinded once; one untimed recovery finalizes the OPRF and yields
 * the unlock tag. As the evaluation `k·B` is deterministic, every later recovery with the same
 * blinded element gets the same evaluated element and the same tag is right: the timed loop
 * sends exactly what a real client would, checks the answers byte for byte, and does no
 * elliptic-curve work of its own. Preparation goes through `fetch`; the timed loop through the
 * lean client of support-http-client.ts, with each user's request bytes built beforehand.
 */
import { randomBytes } from 'node:crypto';
import { VaultClient } from '@bkv/client';
import {
  deriveRecordKeys,
  fromBase64url,
  oprfBlind,
  oprfFinalize,
  stretchPassphrase,
  toBase64url,
  type Kdf,
} from '@bkv/protocol';
import { mintLocalToken } from '@bkv/vault';
import { expectJson, fetchJson, PreparedPost, type HttpConnection } from './support-http-client';

/** What the timed loop needs for one user; all of it computed before the clock starts. */
export interface PreparedUser {
  /** The token's subject: the vault's user id. */
  userId: string;
  authorization: string;
  startBody: string;
  expectedEvaluated: string;
  finishBody: string;
  expectedSealedKey: string;
  /** The timed loop's requests: the start as sent, the finish with a `{}` for the recovery id. */
  start: PreparedPost;
  finish: PreparedPost;
}

/** A vault reachable over HTTP, wherever it runs, with the data folder its tokens come from. */
export interface VaultEndpoint {
  url: string;
  dataDir: string;
}

/**
 * Enrolls `count` users with `kdf` (at the realm minimum, so cheap) and prepares each for the
 * timed loop, `parallel` at a time. Checks once, through the real client code, that the key the
 * prepared tag releases is the key that was enrolled.
 */
export async function prepareUsers(
  vault: VaultEndpoint,
  count: number,
  kdf: Kdf,
  parallel = 8,
): Promise<PreparedUser[]> {
  const users: PreparedUser[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) users[i] = await prepareUser(vault, i, kdf);
  };
  await Promise.all(Array.from({ length: parallel }, worker));

  // The same user recovered by the SDK, from scratch: the prepared shortcut changes nothing.
  const bearer = await mintLocalToken(vault.dataDir, 'bench-0');
  const client = new VaultClient({ url: vault.url, token: () => bearer, kdf });
  const recovered = await client.recover(passphraseOf(0));
  if (recovered.version !== 1) throw new Error('the SDK recovered an unexpected version');
  return users;
}

const passphraseOf = (i: number) => `bench passphrase ${i}`;

async function prepareUser(vault: VaultEndpoint, i: number, kdf: Kdf): Promise<PreparedUser> {
  const bearer = await mintLocalToken(vault.dataDir, `bench-${i}`);
  const client = new VaultClient({ url: vault.url, token: () => bearer, kdf });
  const enrolled = await client.enroll(passphraseOf(i));
  const record = await client.status();
  if (record?.state !== 'active') throw new Error('the enrolled record is not active');
  const realmId = fromBase64url((await client.realm()).realmId)!;

  // docs/protocol.md "Client derivations": stretch and blind once, outside the timed loop.
  const input = await stretchPassphrase(passphraseOf(i), fromBase64url(record.salt)!, record.kdf);
  const { blind, blindedElement } = oprfBlind(input, (n) => randomBytes(n));
  const authorization = `Bearer ${bearer}`;
  const headers = { authorization };
  const startBody = JSON.stringify({
    version: record.version,
    blindedElement: toBase64url(blindedElement),
  });

  // One untimed recovery finalizes the OPRF and proves the tag right.
  const started = await fetchJson(vault.url, '/v1/recoveries', startBody, 201, headers);
  const evaluated = fromBase64url(started.evaluatedElement as string)!;
  const { unlockTag } = deriveRecordKeys(oprfFinalize(input, blind, evaluated), realmId);
  const finishBody = JSON.stringify({ unlockTag: toBase64url(unlockTag) });
  const finishPath = `/v1/recoveries/${started.recoveryId as string}/finish`;
  const finished = await fetchJson(vault.url, finishPath, finishBody, 200, headers);
  if (finished.version !== enrolled.version) throw new Error('recovered another version');

  return {
    userId: `bench-${i}`,
    authorization,
    startBody,
    expectedEvaluated: started.evaluatedElement as string,
    finishBody,
    expectedSealedKey: finished.sealedKey as string,
    start: new PreparedPost(vault.url, '/v1/recoveries', startBody, headers),
    finish: new PreparedPost(vault.url, '/v1/recoveries/{}/finish', finishBody, headers),
  };
}

/**
 * One full recovery on `connection`: start, then finish with the right tag. Throws on any other
 * answer, so a refusal (backoff, overload, a wrong evaluation) can never be counted.
 */
export async function recoverOnce(connection: HttpConnection, user: PreparedUser): Promise<void> {
  const startAnswer = await connection.send(user.start.bytes());
  const started = expectJson(startAnswer, 201, 'POST /v1/recoveries');
  if (started.evaluatedElement !== user.expectedEvaluated) {
    throw new Error('the vault evaluated the blinded element differently');
  }
  const finishAnswer = await connection.send(user.finish.bytes(started.recoveryId as string));
  const finished = expectJson(finishAnswer, 200, 'POST /v1/recoveries/{id}/finish');
  if (finished.sealedKey !== user.expectedSealedKey) {
    throw new Error('the vault released another sealed key');
  }
}
