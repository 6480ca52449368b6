/** Small synchronous PKCS#11 object helpers, used at start-up and for cleanup. */
import type { Handle, PKCS11, Template } from 'pkcs11js';

/** Every object matching `template` visible to `session` (C_FindObjects, PKCS#11 v2.40 §5.7). */
export function findObjects(lib: PKCS11, session: Handle, template: Template): Handle[] {
  lib.C_FindObjectsInit(session, template);
  try {
    const found: Handle[] = [];
    for (;;) {
      const batch = lib.C_FindObjects(session, 64);
      if (batch.length === 0) return found;
      found.push(...batch);
    }
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

/** One attribute's raw value. */
export function readAttribute(lib: PKCS11, session: Handle, object: Handle, type: number): Buffer {
  const [attr] = lib.C_GetAttributeValue(session, object, [{ type }]);
  return attr!.value;
}

/** Destroys a session object, ignoring a failure: used in `finally` after the real error. */
export function destroyQuietly(lib: PKCS11, session: Handle, object: Handle | undefined): void {
  if (object === undefined) return;
  try {
    lib.C_DestroyObject(session, object);
  } catch {
    // The session may be gone with the object; closing it destroys its objects anyway.
  }
}

/** `n` random bytes from the token's generator (C_GenerateRandom, §5.15). */
export function tokenRandom(lib: PKCS11, session: Handle, n: number): Buffer {
  return lib.C_GenerateRandom(session, Buffer.alloc(n));
}
