/**
 * The SDK an app embeds to escrow its backup key under a passphrase and get it back
 * (docs/protocol.md, "Wire contract"). Runs in Node 20+ and browsers: `fetch` and WebCrypto
 * come from the platform or the options.
 */
import {
  BkvError,
  commitResponse,
  drawRandom,
  enrollResponse,
  finishDerivation,
  fromBase64url,
  kdfMeets,
  kdfFieldsSchema,
  kdfSchema,
  LENGTHS,
  openBackupKey,
  realmResponse,
  recordResponse,
  recoveryFinishResponse,
  recoveryStartResponse,
  sealBackupKey,
  startDerivation,
  toBase64url,
  wipe,
  type Kdf,
  type PendingDerivation,
  type RandomSource,
  type RealmResponse,
  type RecordResponse,
} from '@bkv/protocol';
import { generateBackupKey } from './backup-key';
import { VaultHttp } from './http';
import { systemRandom } from './random';

/** How to reach one vault realm. Checked when the client is made. */
export interface VaultClientOptions {
  /** Base URL of the vault, e.g. "https://vault.example.org" (the client appends "/v1/..."). */
  url: string;
  /** Returns the caller's bearer token; called before every authenticated call. */
  token: () => string | Promise<string>;
  /** The fetch to use; defaults to the global one. */
  fetch?: typeof fetch;
  /** Random source for salts, blinds, keys and nonces; defaults to WebCrypto. */
  random?: RandomSource;
  /** Argon2id parameters to enroll with, over the realm's defaults. Never below its minimum. */
  kdf?: Partial<Kdf>;
}

/** What an enrollment left in the realm. `key` is the escrowed backup key: secret. */
export interface EnrollResult {
  key: Uint8Array;
  version: number;
  guessLimit: number;
  guessesRemaining: number;
}

/** A recovered backup key (secret) and the record version it came from. */
export interface RecoverResult {
  key: Uint8Array;
  version: number;
}

/**
 * Client of one realm for the user the token names. Methods throw {@link BkvError}; branch on
 * `code` (WRONG_PASSPHRASE with `details.guessesRemaining`, RATE_LIMITED with
 * `details.retryAfter`, LOCKED_OUT, NO_RECORD, NETWORK, ...). One instance may be shared.
 */
export class VaultClient {
  readonly #http: VaultHttp;
  readonly #random: RandomSource;
  readonly #kdf: Partial<Kdf>;
  #realm: Promise<RealmResponse> | undefined;

  constructor(options: VaultClientOptions) {
    const url = parseUrl(options.url);
    if (typeof options.token !== 'function')
      throw new TypeError('options.token must be a function');
    const fetcher = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (typeof fetcher !== 'function') throw new TypeError('no fetch: pass options.fetch');

    this.#http = new VaultHttp(url, options.token, fetcher);
    this.#random = options.random ?? systemRandom;
    this.#kdf = parseKdf(options.kdf);
  }

  /** The realm's public description (GET /v1/realm), fetched once and then cached. */
  realm(): Promise<RealmResponse> {
    this.#realm ??= this.#http
      .send({ method: 'GET', path: '/v1/realm', authenticated: false }, realmResponse)
      .catch((error: unknown) => {
        this.#realm = undefined;
        throw error;
      });
    return this.#realm;
  }

  /**
   * Escrows `key` (or a new backup key) under `passphrase`, replacing any earlier record of
   * the user. Returns the key, which the caller keeps and wipes when done.
   */
  async enroll(
    passphrase: string,
    key?: Uint8Array,
    options: { guessLimit?: number } = {},
  ): Promise<EnrollResult> {
    if (key !== undefined && key.length !== LENGTHS.backupKey) {
      throw new BkvError('INVALID_REQUEST', 'the backup key must be 32 bytes', { field: 'key' });
    }
    const realm = await this.realm();
    const realmId = decode(realm.realmId, LENGTHS.realmId, 'realmId');
    const kdf: Kdf = { ...realm.kdf, ...this.#kdf, alg: 'argon2id' };
    // Each field was checked alone; an override of one can still clash with the realm's other.
    if (!kdfSchema.safeParse(kdf).success) {
      throw new BkvError(
        'INVALID_REQUEST',
        'options.kdf with the realm parameters: memoryKiB must be at least 8 × parallelism',
        { field: 'kdf' },
      );
    }
    if (!kdfMeets(kdf, realm.kdfMinimum)) {
      throw new BkvError('WEAK_KDF', 'the Argon2id parameters are below the realm minimum');
    }

    // Stretch and blind under a fresh salt, then have the realm evaluate the blinded element.
    const salt = drawRandom(this.#random, LENGTHS.salt);
    const pending = await startDerivation(passphrase, salt, kdf, this.#random);
    const started = await this.#evaluate(pending, () =>
      this.#http.send(
        {
          method: 'POST',
          path: '/v1/enrollments',
          body: {
            kdf,
            salt: toBase64url(salt),
            blindedElement: toBase64url(pending.blindedElement),
            ...(options.guessLimit === undefined ? {} : { guessLimit: options.guessLimit }),
          },
          authenticated: true,
        },
        enrollResponse,
      ),
    );

    // Unblind, derive, seal the backup key and commit the tag and the sealed key.
    const { wrapKey, unlockTag } = finishDerivation(pending, started.evaluated, realmId);
    const backupKey = key ?? generateBackupKey(this.#random);
    try {
      let sealedKey: Uint8Array;
      try {
        const nonce = drawRandom(this.#random, LENGTHS.nonce);
        sealedKey = await sealBackupKey(wrapKey, backupKey, nonce);
      } finally {
        wipe(wrapKey);
      }
      const committed = await this.#http.send(
        {
          method: 'POST',
          path: `/v1/enrollments/${encodeURIComponent(started.body.enrollmentId)}/commit`,
          body: { unlockTag: toBase64url(unlockTag), sealedKey: toBase64url(sealedKey) },
          authenticated: true,
        },
        commitResponse,
      );
      const { version, guessLimit, guessesRemaining } = committed;
      return { key: backupKey, version, guessLimit, guessesRemaining };
    } catch (error) {
      // A key made here and never escrowed is no one's: it must not linger (the caller's own
      // key is the caller's to keep).
      if (key === undefined) wipe(backupKey);
      throw error;
    }
  }

  /**
   * Recovers the backup key with `passphrase`. Each call spends one guess of the record's
   * budget until it succeeds; a right passphrase restores the budget. On VERSION_MISMATCH
   * (the record was replaced meanwhile) calling again is safe.
   */
  async recover(passphrase: string): Promise<RecoverResult> {
    const realm = await this.realm();
    const realmId = decode(realm.realmId, LENGTHS.realmId, 'realmId');
    const record = await this.status();
    if (record === null) throw new BkvError('NO_RECORD', 'the user has no escrowed key');
    if (record.state === 'locked') {
      throw new BkvError('LOCKED_OUT', 'the record was destroyed after too many wrong guesses');
    }

    // Stretch and blind under the record's salt and parameters; the start spends the guess.
    const salt = decode(record.salt, LENGTHS.salt, 'salt');
    const pending = await startDerivation(passphrase, salt, record.kdf, this.#random);
    const started = await this.#evaluate(pending, () =>
      this.#http.send(
        {
          method: 'POST',
          path: '/v1/recoveries',
          body: { version: record.version, blindedElement: toBase64url(pending.blindedElement) },
          authenticated: true,
        },
        recoveryStartResponse,
      ),
    );

    // Unblind and derive; the realm releases the sealed key only for the right unlock tag.
    const { wrapKey, unlockTag } = finishDerivation(pending, started.evaluated, realmId);
    try {
      const finished = await this.#http.send(
        {
          method: 'POST',
          path: `/v1/recoveries/${encodeURIComponent(started.body.recoveryId)}/finish`,
          body: { unlockTag: toBase64url(unlockTag) },
          authenticated: true,
        },
        recoveryFinishResponse,
      );
      const sealedKey = decode(finished.sealedKey, LENGTHS.sealedKey, 'sealedKey');
      return { key: await openBackupKey(wrapKey, sealedKey), version: finished.version };
    } finally {
      wipe(wrapKey);
    }
  }

  /** The user's record (GET /v1/record): active with its budget, locked, or null if none. */
  async status(): Promise<RecordResponse | null> {
    try {
      const call = { method: 'GET', path: '/v1/record', authenticated: true } as const;
      return await this.#http.send(call, recordResponse);
    } catch (error) {
      if (error instanceof BkvError && error.code === 'NO_RECORD') return null;
      throw error;
    }
  }

  /** Deletes the user's record (DELETE /v1/record). False if there was none. */
  async forget(): Promise<boolean> {
    try {
      await this.#http.send({ method: 'DELETE', path: '/v1/record', authenticated: true }, null);
      return true;
    } catch (error) {
      if (error instanceof BkvError && error.code === 'NO_RECORD') return false;
      throw error;
    }
  }

  /** Runs the call that evaluates the blinded element; wipes the pending state if it fails. */
  async #evaluate<T extends { evaluatedElement: string }>(
    pending: PendingDerivation,
    call: () => Promise<T>,
  ): Promise<{ body: T; evaluated: Uint8Array }> {
    try {
      const body = await call();
      return {
        body,
        evaluated: decode(body.evaluatedElement, LENGTHS.element, 'evaluatedElement'),
      };
    } catch (error) {
      wipe(pending.input, pending.blind);
      throw error;
    }
  }
}

/** Checks the Argon2id override at construction, naming every problem at once. */
function parseKdf(kdf: Partial<Kdf> | undefined): Partial<Kdf> {
  const parsed = kdfFieldsSchema.partial().safeParse(kdf ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.')}: ${issue.message}`,
    );
    throw new TypeError(`options.kdf is invalid: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Decodes a base64url response field of a known length, or fails with BAD_RESPONSE. */
function decode(text: string, length: number, field: string): Uint8Array {
  const bytes = fromBase64url(text);
  if (bytes === undefined || bytes.length !== length) {
    throw new BkvError('BAD_RESPONSE', `${field} is not ${length} bytes of base64url`);
  }
  return bytes;
}

function parseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`options.url is not a URL: ${text}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('options.url must be http: or https:');
  }
  return url.href;
}
