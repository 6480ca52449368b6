/**
 * The realm's keys inside the token: an AES-256 wrapping key, an AES-256 sealing key, an HMAC
 * key and a data object, the realm marker, holding the realm id. All are token objects found
 * by label. The keys share a random 16-byte key id in CKA_ID; the marker holds an order tag
 * (8 bytes of its creation time, 8 random), the realm id and that key id. The order tag is how
 * processes that raced to create a realm agree on one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as pkcs11js from 'pkcs11js';
import type { Handle, PKCS11 } from 'pkcs11js';
import { BkvError } from '@bkv/protocol';
import { destroyQuietly, findObjects, readAttribute, tokenRandom } from './objects';
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

/**
 * The handles operations use: the realm keys as session copies where the token allows it (see
 * {@link sessionCopies}), and a token object to touch when a call fails, to tell a vanished
 * token from bad input.
 */
export interface WorkingKeys extends RealmKeys {
  readonly probe: Handle;
}

const APPLICATION = 'bkv realm';
const FIRST_GENERATION = 1;

/** How long a creator waits before re-reading, so that a concurrent creator's objects show. */
const RACE_SETTLE_MS = 500;

/** Finds the realm under `prefix`, or undefined when none was initialised. */
export function findRealm(lib: PKCS11, session: Handle, prefix: string): RealmKeys | undefined {
  const marker = lowestMarker(lib, session, prefix);
  return marker === undefined ? undefined : loadKeys(lib, session, prefix, marker);
}

/**
 * Finds the realm or creates it. Idempotent, and safe against a concurrent creator in another
 * process: each creator writes a complete realm (marker last), waits, re-reads, and every
 * process keeps the realm whose marker has the lowest order tag (the earliest written); a
 * creator that lost removes its own objects. The tag's time is taken just before the marker
 * is written, so the window a re-read must cover is one object write, not four.
 */
export async function findOrCreateRealm(
  lib: PKCS11,
  session: Handle,
  prefix: string,
): Promise<RealmKeys> {
  const existing = findRealm(lib, session, prefix);
  if (existing !== undefined) return existing;

  const keyId = tokenRandom(lib, session, 16);
  const created = createRealmKeys(lib, session, prefix, keyId);
  const marker: Marker = {
    order: Buffer.concat([timeBytes(), tokenRandom(lib, session, 8)]),
    realmId: tokenRandom(lib, session, 16),
    keyId,
  };
  created.push(createMarker(lib, session, prefix, marker));

  // Re-read after the settle time; keep the earliest realm, drop ours if it lost.
  await sleep(RACE_SETTLE_MS);
  const winner = lowestMarker(lib, session, prefix);
  if (winner === undefined) throw new BkvError('HSM_UNAVAILABLE', 'realm vanished after creation');
  if (!winner.order.equals(marker.order)) {
    for (const handle of created) lib.C_DestroyObject(session, handle);
  }
  return loadKeys(lib, session, prefix, winner);
}

interface Marker {
  /** Creation time (8 bytes, big-endian ms) and 8 random bytes: lowest wins. */
  order: Buffer;
  realmId: Buffer;
  /** The CKA_ID of the realm's keys. */
  keyId: Buffer;
}

const MARKER_BYTES = 48;

function timeBytes(): Buffer {
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(Date.now()));
  return time;
}

/** Label of a realm key: `<prefix><role>.g<generation>`. */
function keyLabel(prefix: string, role: 'wrap' | 'seal' | 'mac', generation: number): string {
  return `${prefix}${role}.g${generation}`;
}

/** Generates the three keys; the marker, written after them, makes them a realm. */
function createRealmKeys(lib: PKCS11, session: Handle, prefix: string, keyId: Buffer): Handle[] {
  const aes = { mechanism: pkcs11js.CKM_AES_KEY_GEN };
  const generic = { mechanism: pkcs11js.CKM_GENERIC_SECRET_KEY_GEN };
  const g = FIRST_GENERATION;
  const key = (role: 'wrap' | 'seal' | 'mac', uses: pkcs11js.Template) =>
    templates.realmSecretKey(keyLabel(prefix, role, g), keyId, uses);
  return [
    lib.C_GenerateKey(session, aes, key('wrap', templates.WRAP_KEY_USES)),
    lib.C_GenerateKey(session, aes, key('seal', templates.SEAL_KEY_USES)),
    lib.C_GenerateKey(session, generic, key('mac', templates.MAC_KEY_USES)),
  ];
}

function createMarker(lib: PKCS11, session: Handle, prefix: string, marker: Marker): Handle {
  return lib.C_CreateObject(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_LABEL, value: `${prefix}realm` },
    { type: pkcs11js.CKA_APPLICATION, value: APPLICATION },
    {
      type: pkcs11js.CKA_VALUE,
      value: Buffer.concat([marker.order, marker.realmId, marker.keyId]),
    },
  ]);
}

/** The realm marker with the lowest order tag. */
function lowestMarker(lib: PKCS11, session: Handle, prefix: string): Marker | undefined {
  const handles = findObjects(lib, session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_LABEL, value: `${prefix}realm` },
  ]);
  let lowest: Marker | undefined;
  for (const handle of handles) {
    const value = readAttribute(lib, session, handle, pkcs11js.CKA_VALUE);
    if (value.length !== MARKER_BYTES) continue;
    const marker = {
      order: value.subarray(0, 16),
      realmId: value.subarray(16, 32),
      keyId: value.subarray(32, 48),
    };
    if (lowest === undefined || Buffer.compare(marker.order, lowest.order) < 0) lowest = marker;
  }
  return lowest;
}

/** Finds the keys carrying the marker's key id and sorts them by the role in their label. */
function loadKeys(lib: PKCS11, session: Handle, prefix: string, marker: Marker): RealmKeys {
  const handles = findObjects(lib, session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_ID, value: marker.keyId },
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

/**
 * Copies of the realm keys as session objects (C_CopyObject with CKA_TOKEN false, PKCS#11
 * v2.40 §5.7), made on `session`, which must stay open while they are used: a session's
 * objects die with it. The copies stay inside the token, as sensitive and non-extractable as
 * the originals. They exist for speed: SoftHSM re-reads a token object's file under a file lock
 * at every use (measured: AES-GCM init and encrypt of 64 bytes, 29 µs with the token key, 14
 * µs with a copy, and no lock shared between threads). A token that refuses copies (CKA_COPYABLE
 * false, or no C_CopyObject) gets its token objects used directly.
 */
export function sessionCopies(lib: PKCS11, session: Handle, realm: RealmKeys): WorkingKeys {
  const made: Handle[] = [];
  const copy = (handle: Handle) => {
    const copied = lib.C_CopyObject(session, handle, [{ type: pkcs11js.CKA_TOKEN, value: false }]);
    made.push(copied);
    return copied;
  };
  try {
    const wrap = new Map<number, Handle>();
    for (const [generation, handle] of realm.wrap) wrap.set(generation, copy(handle));
    return { ...realm, wrap, seal: copy(realm.seal), mac: copy(realm.mac), probe: realm.seal };
  } catch {
    for (const handle of made) destroyQuietly(lib, session, handle);
    return { ...realm, probe: realm.seal };
  }
}
