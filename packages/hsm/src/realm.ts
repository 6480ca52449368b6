/**
 * The realm's keys inside the token: an AES-256 wrapping key, an AES-256 sealing key, an HMAC
 * key and a data object holding the realm id. All are token objects found by label; together
 * they share a 16-byte realm tag in CKA_ID (8 bytes of creation time, 8 random), which is how
 * one realm is told from another when two processes raced to create one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as pkcs11js from 'pkcs11js';
import type { Handle, PKCS11 } from 'pkcs11js';
import { BkvError } from '@bkv/protocol';
import { findObjects, readAttribute, tokenRandom } from './objects';
import * as templates from './templates';

/** The cached handles of one realm's keys. */
export interface RealmKeys {
  readonly realmId: Uint8Array;
  /** Wrapping keys by generation; `currentWrap` wraps new keys, all of them unwrap. */
  readonly wrap: ReadonlyMap<number, Handle>;
  readonly currentWrap: number;
  readonly seal: Handle;
  readonly mac: Handle;
}

const APPLICATION = 'bkv realm';
const FIRST_GENERATION = 1;

/** How long a creator waits before re-reading, so that a concurrent creator's objects show. */
const RACE_SETTLE_MS = 300;

/** Finds the realm under `prefix`, or undefined when none was initialised. */
export function findRealm(lib: PKCS11, session: Handle, prefix: string): RealmKeys | undefined {
  const marker = lowestMarker(lib, session, prefix);
  return marker === undefined ? undefined : loadKeys(lib, session, prefix, marker);
}

/**
 * Finds the realm or creates it. Idempotent, and safe against a concurrent creator in another
 * process: each creator writes a complete realm, waits, re-reads, and every process keeps the
 * realm with the lowest tag (the earliest created); a creator that lost removes its own objects.
 */
export async function findOrCreateRealm(
  lib: PKCS11,
  session: Handle,
  prefix: string,
): Promise<RealmKeys> {
  const existing = findRealm(lib, session, prefix);
  if (existing !== undefined) return existing;

  // The tag orders realms by creation time; the random half breaks ties.
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(Date.now()));
  const tag = Buffer.concat([time, tokenRandom(lib, session, 8)]);
  const created = createRealmObjects(lib, session, prefix, tag);

  // Re-read after the settle time; keep the earliest realm, drop ours if it lost.
  await sleep(RACE_SETTLE_MS);
  const winner = lowestMarker(lib, session, prefix);
  if (winner === undefined) throw new BkvError('HSM_UNAVAILABLE', 'realm vanished after creation');
  if (!winner.tag.equals(tag)) {
    for (const handle of created) lib.C_DestroyObject(session, handle);
  }
  return loadKeys(lib, session, prefix, winner);
}

interface Marker {
  tag: Buffer;
  realmId: Buffer;
}

/** Label of a realm key: `<prefix><role>.g<generation>`. */
function keyLabel(prefix: string, role: 'wrap' | 'seal' | 'mac', generation: number): string {
  return `${prefix}${role}.g${generation}`;
}

/** Generates the three keys, then the marker last: a marker means a complete realm. */
function createRealmObjects(lib: PKCS11, session: Handle, prefix: string, tag: Buffer): Handle[] {
  const aes = { mechanism: pkcs11js.CKM_AES_KEY_GEN };
  const generic = { mechanism: pkcs11js.CKM_GENERIC_SECRET_KEY_GEN };
  const g = FIRST_GENERATION;
  const handles = [
    lib.C_GenerateKey(
      session,
      aes,
      templates.realmSecretKey(keyLabel(prefix, 'wrap', g), tag, templates.WRAP_KEY_USES),
    ),
    lib.C_GenerateKey(
      session,
      aes,
      templates.realmSecretKey(keyLabel(prefix, 'seal', g), tag, templates.SEAL_KEY_USES),
    ),
    lib.C_GenerateKey(
      session,
      generic,
      templates.realmSecretKey(keyLabel(prefix, 'mac', g), tag, templates.MAC_KEY_USES),
    ),
  ];
  const realmId = tokenRandom(lib, session, 16);
  handles.push(
    lib.C_CreateObject(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_LABEL, value: `${prefix}realm` },
      { type: pkcs11js.CKA_APPLICATION, value: APPLICATION },
      { type: pkcs11js.CKA_VALUE, value: Buffer.concat([tag, realmId]) },
    ]),
  );
  return handles;
}

/** The realm marker with the lowest tag (tag || realmId in CKA_VALUE). */
function lowestMarker(lib: PKCS11, session: Handle, prefix: string): Marker | undefined {
  const handles = findObjects(lib, session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_LABEL, value: `${prefix}realm` },
  ]);
  let lowest: Marker | undefined;
  for (const handle of handles) {
    const value = readAttribute(lib, session, handle, pkcs11js.CKA_VALUE);
    if (value.length !== 32) continue;
    const marker = { tag: value.subarray(0, 16), realmId: value.subarray(16) };
    if (lowest === undefined || Buffer.compare(marker.tag, lowest.tag) < 0) lowest = marker;
  }
  return lowest;
}

/** Finds the keys carrying the marker's tag and sorts them by the role in their label. */
function loadKeys(lib: PKCS11, session: Handle, prefix: string, marker: Marker): RealmKeys {
  const handles = findObjects(lib, session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_ID, value: marker.tag },
  ]);
  const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}(wrap|seal|mac)\\.g(\\d+)$`);
  const wrap = new Map<number, Handle>();
  let seal: Handle | undefined;
  let mac: Handle | undefined;
  for (const handle of handles) {
    const label = readAttribute(lib, session, handle, pkcs11js.CKA_LABEL).toString('utf8');
    const match = pattern.exec(label);
    if (match === null) continue;
    const generation = Number(match[2]);
    if (match[1] === 'wrap') wrap.set(generation, handle);
    if (match[1] === 'seal' && generation === FIRST_GENERATION) seal = handle;
    if (match[1] === 'mac' && generation === FIRST_GENERATION) mac = handle;
  }
  if (wrap.size === 0 || seal === undefined || mac === undefined) {
    throw new BkvError('INTERNAL', 'realm keys incomplete in the token');
  }
  return {
    realmId: new Uint8Array(marker.realmId),
    wrap,
    currentWrap: Math.max(...wrap.keys()),
    seal,
    mac,
  };
}
