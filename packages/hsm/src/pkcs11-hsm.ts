/**
 * The `Hsm` over a PKCS#11 token. The hot operations of a recovery (OPRF evaluation, opening a
 * sealed record) run whole on session threads (`session-threads.ts`); the others use pkcs11js's
 * Promise variants, which run on the libuv thread pool, and a few fast synchronous calls.
 * Sessions come from a {@link Connection}; a failure that means the token or a session went
 * away retires the connection, reports HSM_UNAVAILABLE, and the next call reconnects.
 */
import { timingSafeEqual } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import type { Handle, PKCS11 } from 'pkcs11js';
import { BkvError } from '@bkv/protocol';
import type { HsmConfig } from './config';
import { Connection } from './connection';
import { badInput, ckrName, toBkvError } from './errors';
import type { Hsm, WrappedOprfKey } from './hsm';
import { enterModule, leaveModule, moduleEpoch, releaseModule } from './module';
import { destroyQuietly, readAttribute, tokenRandom } from './objects';
import * as points from './points';
import {
  checkWrappedKey,
  gcm,
  GCM_NONCE_BYTES,
  GCM_TAG_BYTES,
  MAX_WRAPPED_KEY_BYTES,
  unwrapEcPoint,
  type Step,
} from './steps';
import { SessionThreads, UntouchedRefusal } from './session-threads';
import * as templates from './templates';

const MAC_BYTES = 32;
const MAX_RANDOM_BYTES = 65_536;
/** A fresh key whose PKCS#8 length is not a multiple of 8 cannot take RFC 3394: make another. */
const WRAP_ATTEMPTS = 4;

export class Pkcs11Hsm implements Hsm {
  readonly realmId: Uint8Array;
  /** A private copy, so that a caller writing into `realmId` cannot confuse reconnection. */
  readonly #realmId: Buffer;
  #current: Connection | undefined;
  #connecting: Promise<Connection> | undefined;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #closed = false;
  readonly #threads: SessionThreads;

  /** Use {@link openHsm}; it loads the module and opens the first connection. */
  constructor(
    private readonly lib: PKCS11,
    private readonly config: HsmConfig,
    first: Connection,
  ) {
    this.#current = first;
    this.realmId = new Uint8Array(first.realm.realmId);
    this.#realmId = Buffer.from(first.realm.realmId);
    this.#threads = new SessionThreads(config.modulePath, config.poolSize, config.threadNice);
  }

  async makeOprfKey(): Promise<WrappedOprfKey> {
    return this.#run('makeOprfKey', async ({ lib, session }, realm) => {
      for (let attempt = 1; ; attempt++) {
        const pair = await lib.C_GenerateKeyPairAsync(
          session,
          { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
          templates.OPRF_PUBLIC_KEY,
          templates.OPRF_PRIVATE_KEY,
        );
        try {
          const point = readAttribute(lib, session, pair.publicKey, pkcs11js.CKA_EC_POINT);
          const publicKey = unwrapEcPoint(point);
          const wrapped = await this.#wrap(
            { lib, session },
            realm.wrap.get(realm.currentWrap)!,
            pair.privateKey,
          );
          if (wrapped !== undefined) {
            return { wrappedKey: wrapped, publicKey, wrapKeyId: realm.currentWrap };
          }
          if (attempt >= WRAP_ATTEMPTS) throw new BkvError('INTERNAL', 'key wrap length refused');
        } finally {
          destroyQuietly(lib, session, pair.privateKey);
          destroyQuietly(lib, session, pair.publicKey);
        }
      }
    });
  }

  /**
   * Wraps a known scalar as an OPRF key of this realm. For migrations and for the RFC 9497 test
   * vectors only: a normal record's key is made by {@link makeOprfKey} and never exists outside.
   */
  async importOprfKey(scalar: Uint8Array): Promise<WrappedOprfKey> {
    const value = scalar.length === 32 ? BigInt('0x' + Buffer.from(scalar).toString('hex')) : 0n;
    if (value <= 0n || value >= points.P256_ORDER) throw badInput('scalar must be in [1, n-1]');
    return this.#run('importOprfKey', async ({ lib, session }, realm) => {
      const secret = Buffer.from(scalar);
      let key: Handle;
      try {
        key = lib.C_CreateObject(session, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
          { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
          { type: pkcs11js.CKA_EC_PARAMS, value: templates.P256_EC_PARAMS },
          { type: pkcs11js.CKA_VALUE, value: secret },
          ...templates.OPRF_PRIVATE_KEY,
        ]);
      } finally {
        secret.fill(0);
      }
      try {
        const wrapped = await this.#wrap({ lib, session }, realm.wrap.get(realm.currentWrap)!, key);
        if (wrapped === undefined) throw new BkvError('INTERNAL', 'key wrap length refused');
        return {
          wrappedKey: wrapped,
          publicKey: points.publicKeyOf(value),
          wrapKeyId: realm.currentWrap,
        };
      } finally {
        destroyQuietly(lib, session, key);
      }
    });
  }

  async evaluateOprf(key: WrappedOprfKey, blindedElement: Uint8Array): Promise<Uint8Array> {
    const wrappedKey = checkWrappedKey(key.wrappedKey);
    return this.#run('evaluateOprf', async ({ session }, realm) => {
      const unwrappingKey = realm.wrap.get(key.wrapKeyId);
      if (unwrappingKey === undefined) {
        throw new UntouchedRefusal('HSM_BAD_INPUT', `unknown wrapping key ${key.wrapKeyId}`);
      }
      // On a session thread: unwrap, two derives and the sign recovery (`session-ops.ts`).
      return this.#threads.run('evaluateOprf', {
        op: 'evaluate',
        session: own(session),
        unwrappingKey: own(unwrappingKey),
        probe: own(realm.probe),
        wrappedKey,
        publicKey: own(key.publicKey),
        blindedElement: own(blindedElement),
      });
    });
  }

  async seal(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return this.#run('seal', async ({ lib, session }, realm) => {
      // NIST SP 800-38D: a 96-bit random nonce from the token, 128-bit tag.
      const nonce = tokenRandom(lib, session, GCM_NONCE_BYTES);
      lib.C_EncryptInit(session, gcm(nonce, aad), realm.seal);
      const out = Buffer.alloc(plaintext.length + GCM_TAG_BYTES);
      const sealed = await lib.C_EncryptAsync(session, Buffer.from(plaintext), out);
      return new Uint8Array(Buffer.concat([nonce, sealed]));
    });
  }

  async open(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    if (sealed.length < GCM_NONCE_BYTES + GCM_TAG_BYTES) throw badInput('sealed blob too short');
    return this.#run('open', async ({ session }, realm) =>
      this.#threads.run('open', {
        op: 'open',
        session: own(session),
        sealingKey: own(realm.seal),
        probe: own(realm.probe),
        nonce: own(sealed.subarray(0, GCM_NONCE_BYTES)),
        body: own(sealed.subarray(GCM_NONCE_BYTES)),
        aad: own(aad),
      }),
    );
  }

  async mac(data: Uint8Array): Promise<Uint8Array> {
    return this.#run('mac', async ({ lib, session }, realm) => {
      lib.C_SignInit(session, { mechanism: pkcs11js.CKM_SHA256_HMAC }, realm.mac);
      const tag = await lib.C_SignAsync(session, Buffer.from(data), Buffer.alloc(MAC_BYTES));
      return new Uint8Array(tag);
    });
  }

  /** Recomputes the tag and compares in constant time; a wrong-length tag is simply false. */
  async verifyMac(data: Uint8Array, tag: Uint8Array): Promise<boolean> {
    const expected = await this.mac(data);
    return tag.length === expected.length && timingSafeEqual(expected, tag);
  }

  async random(n: number): Promise<Uint8Array> {
    if (!Number.isInteger(n) || n < 1 || n > MAX_RANDOM_BYTES) {
      throw badInput(`random length must be 1..${MAX_RANDOM_BYTES}`);
    }
    return this.#run('random', async ({ lib, session }) => {
      return new Uint8Array(tokenRandom(lib, session, n));
    });
  }

  /** Touches the token and a realm key handle, so a vanished token or stale handle shows. */
  async ping(): Promise<void> {
    await this.#run('ping', async ({ lib, session }, realm) => {
      readAttribute(lib, session, realm.probe, pkcs11js.CKA_KEY_TYPE);
      tokenRandom(lib, session, 1);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    await this.#connecting?.catch(() => undefined);
    await this.#threads.close();
    this.#current?.retire();
    this.#current = undefined;
    releaseModule(this.config.modulePath);
  }

  /**
   * Runs `work` on a borrowed session. After any failure the session is replaced (closing it
   * destroys whatever session objects and operation state it held); HSM_UNAVAILABLE also
   * retires the connection so that the next call starts afresh.
   */
  async #run<T>(
    operation: string,
    work: (step: Step, realm: Connection['keys']) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) throw new BkvError('HSM_UNAVAILABLE', 'HSM adapter is closed');
    this.#inFlight += 1;
    try {
      const connection = await this.#connection();
      const session = await connection.acquire();
      let suspect = false;
      await enterModule(this.config.modulePath);
      try {
        // After a module reset an old session handle may name someone else's new session.
        if (connection.epoch !== this.#epoch()) {
          throw new BkvError('HSM_UNAVAILABLE', 'the module was re-initialised; retry');
        }
        return await work({ lib: this.lib, session }, connection.keys);
      } catch (err) {
        // A refusal made before the session was used leaves nothing behind on it.
        suspect = !(err instanceof UntouchedRefusal);
        const error = toBkvError(err, operation);
        if (error.code === 'HSM_UNAVAILABLE') this.#retire(connection);
        throw error;
      } finally {
        leaveModule(this.config.modulePath);
        connection.release(session, suspect || connection.epoch !== this.#epoch());
      }
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#drained?.();
    }
  }

  /** The live connection, or a new one (one attempt at a time, shared by concurrent callers). */
  async #connection(): Promise<Connection> {
    const current = this.#current;
    if (current !== undefined && !current.retired && current.epoch === this.#epoch()) {
      return current;
    }
    if (current !== undefined) this.#retire(current);
    this.#connecting ??= Connection.open(this.lib, this.config, false)
      .then((connection) => {
        if (!this.#realmId.equals(connection.realm.realmId)) {
          connection.retire();
          throw new BkvError('HSM_AUTH_FAILED', 'the token now holds a different realm');
        }
        this.#current = connection;
        return connection;
      })
      .finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  #epoch(): number {
    return moduleEpoch(this.config.modulePath);
  }

  #retire(connection: Connection): void {
    connection.retire();
    if (this.#current === connection) this.#current = undefined;
  }

  /** Wraps under CKM_AES_KEY_WRAP (RFC 3394); undefined when the key's length does not fit. */
  async #wrap(step: Step, wrappingKey: Handle, key: Handle): Promise<Uint8Array | undefined> {
    try {
      const out = Buffer.alloc(MAX_WRAPPED_KEY_BYTES);
      const mechanism = { mechanism: pkcs11js.CKM_AES_KEY_WRAP };
      return new Uint8Array(
        await step.lib.C_WrapKeyAsync(step.session, mechanism, wrappingKey, key, out),
      );
    } catch (err) {
      const name = ckrName(err);
      if (name === 'CKR_KEY_SIZE_RANGE' || name === 'CKR_DATA_LEN_RANGE') return undefined;
      throw err;
    }
  }
}

/**
 * A copy with a buffer of its own: structured clone sends a view's whole buffer, and a small
 * Buffer's is often Node's shared 8 KiB pool.
 */
function own(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
