/**
 * A minimal bkv1 client written from docs/protocol.md alone, over global fetch. It exists so
 * that the realm is checked against a reading of the document that shares no code with the
 * project's own client: enroll and recover, and the raw error bodies the realm sends.
 */
import { randomBytes } from 'node:crypto';
import {
  blind,
  finalize,
  keys,
  open,
  passphraseBytes,
  randomBlind,
  seal,
  stretch,
  type Kdf,
} from './derivations';

/** `GET /v1/realm`, with the binary field decoded. */
export interface Realm {
  realmId: Uint8Array;
  suite: string;
  kdf: Kdf;
  kdfMinimum: Kdf;
  guessLimit: { default: number; max: number };
}

/** An answer that was not a success: its status and, when the realm sent one, its code. */
export class WireError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly body: unknown,
  ) {
    super(`${status} ${code}`);
    this.name = 'WireError';
  }
}

/** Strict base64url without padding: the one canonical spelling of exactly `length` bytes. */
export function fromB64(text: unknown, length: number): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) {
    throw new WireError(0, 'BAD_RESPONSE', text);
  }
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.length !== length || toB64(bytes) !== text) {
    throw new WireError(0, 'BAD_RESPONSE', text);
  }
  return new Uint8Array(bytes);
}

/** Base64url without padding. */
export function toB64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** One user's client against one realm. */
export class IndependentClient {
  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  /** Sends one call and returns the status and parsed body, whatever the status. */
  async send(
    method: string,
    path: string,
    json?: unknown,
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (path !== '/v1/realm') headers.authorization = `Bearer ${this.token}`;
    if (json !== undefined) headers['content-type'] = 'application/json';
    const body = json === undefined ? undefined : JSON.stringify(json);
    const response = await fetch(`${this.url}${path}`, { method, headers, body });
    const text = await response.text();
    return {
      status: response.status,
      body: text ? JSON.parse(text) : undefined,
      headers: response.headers,
    };
  }

  /** Sends one call, expects `status`, and throws a WireError with the realm's code otherwise. */
  async call(method: string, path: string, status: number, json?: unknown): Promise<any> {
    const answer = await this.send(method, path, json);
    if (answer.status !== status) {
      const code = (answer.body as { error?: { code?: string } })?.error?.code ?? 'UNKNOWN';
      throw new WireError(answer.status, code, answer.body);
    }
    return answer.body;
  }

  /** `GET /v1/realm`. */
  async realm(): Promise<Realm> {
    const body = await this.call('GET', '/v1/realm', 200);
    if (body.suite !== 'bkv1') throw new WireError(0, 'BAD_RESPONSE', body);
    return { ...body, realmId: fromB64(body.realmId, 16) };
  }

  /** Escrows `K` (drawn here unless given) under `passphrase`; the enrollment steps 1 to 5. */
  async enroll(
    passphrase: string,
    K: Uint8Array = randomBytes(32),
    options: { guessLimit?: number; kdf?: Kdf } = {},
  ): Promise<{ key: Uint8Array; version: number; guessLimit: number; guessesRemaining: number }> {
    const realm = await this.realm();
    const kdf = options.kdf ?? realm.kdf;
    const salt = randomBytes(16);

    // Derivation steps 1 to 3, then the realm evaluates with a fresh OPRF key.
    const input = await stretch(passphraseBytes(passphrase), salt, kdf);
    const r = randomBlind();
    const start = await this.call('POST', '/v1/enrollments', 201, {
      kdf,
      salt: toB64(salt),
      blindedElement: toB64(blind(input, r)),
      ...(options.guessLimit === undefined ? {} : { guessLimit: options.guessLimit }),
    });

    // Steps 5 to 7 with the evaluated element, then commit the tag and the sealed key.
    const y = finalize(input, r, fromB64(start.evaluatedElement, 33));
    const { unlockTag, wrapKey } = keys(y, realm.realmId);
    const done = await this.call('POST', `/v1/enrollments/${start.enrollmentId}/commit`, 201, {
      unlockTag: toB64(unlockTag),
      sealedKey: toB64(seal(wrapKey, K)),
    });
    return { key: K, ...done };
  }

  /** Releases `K` with `passphrase`; the recovery steps 1 to 4. Spends one guess. */
  async recover(passphrase: string): Promise<{ key: Uint8Array; version: number }> {
    const realm = await this.realm();
    const record = await this.record();
    if (record.state !== 'active') throw new WireError(410, 'LOCKED_OUT', record);

    // Derivation steps 1 to 3 with the record's salt and parameters.
    const input = await stretch(passphraseBytes(passphrase), fromB64(record.salt, 16), record.kdf);
    const r = randomBlind();
    const start = await this.call('POST', '/v1/recoveries', 201, {
      version: record.version,
      blindedElement: toB64(blind(input, r)),
    });

    // Steps 5 and 6, finish with the tag, and open what the realm releases.
    const y = finalize(input, r, fromB64(start.evaluatedElement, 33));
    const { unlockTag, wrapKey } = keys(y, realm.realmId);
    const done = await this.call('POST', `/v1/recoveries/${start.recoveryId}/finish`, 200, {
      unlockTag: toB64(unlockTag),
    });
    return { key: open(wrapKey, fromB64(done.sealedKey, 60)), version: done.version };
  }

  /** `GET /v1/record`. */
  async record(): Promise<any> {
    return this.call('GET', '/v1/record', 200);
  }
}
