/**
 * The HTTP transport of the client: JSON in and out, the bearer token, and the translation of
 * every failure into a {@link BkvError} (docs/protocol.md, "Errors"). Knows no route.
 */
import {
  BkvError,
  errorResponse,
  isErrorCode,
  type ErrorCode,
  type ErrorResponse,
} from '@bkv/protocol';

/** The part of a zod schema the transport uses, so that this package needs no zod of its own. */
export interface ResponseSchema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: unknown };
}

/** One call: method, path under the base URL, JSON body, whether it carries the token. */
export interface HttpCall {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  authenticated: boolean;
}

/** What to do when an error body carries no code we know: the status decides. */
const FALLBACK_BY_STATUS: Record<number, ErrorCode> = {
  400: 'INVALID_REQUEST',
  401: 'UNAUTHENTICATED',
  404: 'NOT_FOUND',
  409: 'VERSION_MISMATCH',
  410: 'LOCKED_OUT',
  429: 'RATE_LIMITED',
  503: 'OVERLOADED',
};

/** Sends calls to one vault and maps its answers. */
export class VaultHttp {
  readonly #base: string;
  readonly #token: () => string | Promise<string>;
  readonly #fetch: typeof fetch;

  constructor(base: string, token: () => string | Promise<string>, fetcher: typeof fetch) {
    this.#base = base.replace(/\/+$/, '');
    this.#token = token;
    this.#fetch = fetcher;
  }

  /**
   * Makes the call and returns the parsed success body (`undefined` for 204). Throws a
   * BkvError for an error status, NETWORK when no response came, BAD_RESPONSE when the body
   * does not match `schema`.
   */
  async send<T>(call: HttpCall, schema: ResponseSchema<T>): Promise<T>;
  async send(call: HttpCall, schema: null): Promise<undefined>;
  async send<T>(call: HttpCall, schema: ResponseSchema<T> | null): Promise<T | undefined> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.authenticated) headers.authorization = `Bearer ${await this.#token()}`;
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);

    // A thrown fetch means no HTTP answer at all: DNS, refused connection, TLS, CORS, abort.
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(`${this.#base}${call.path}`, {
        method: call.method,
        headers,
        body,
      });
      text = await response.text();
    } catch (cause) {
      throw new BkvError('NETWORK', `${call.method} ${call.path} failed: no response`, {}, cause);
    }

    if (!response.ok) throw errorFromResponse(response.status, response.headers, text);
    if (schema === null) return undefined;
    return parseBody(schema, text, call.path);
  }
}

function parseBody<T>(schema: ResponseSchema<T>, text: string, path: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new BkvError('BAD_RESPONSE', `${path}: the response is not JSON`, {}, cause);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new BkvError('BAD_RESPONSE', `${path}: unexpected response shape`, {}, parsed.error);
  }
  return parsed.data;
}

/**
 * Turns an error response into a BkvError: the body's `code` when it is one we know, else a
 * code chosen by the status. `guessesRemaining` and `field` come from the body; `retryAfter`
 * from the body, or from a `Retry-After` header in seconds.
 */
export function errorFromResponse(status: number, headers: Headers, text: string): BkvError {
  let body: ErrorResponse['error'] | undefined;
  try {
    const parsed = errorResponse.safeParse(JSON.parse(text));
    if (parsed.success) body = parsed.data.error;
  } catch {
    // Not JSON (a proxy's HTML page, say): fall back on the status below.
  }

  const code = isErrorCode(body?.code) ? body.code : fallbackCode(status);
  const details: BkvError['details'] = {};
  if (body?.guessesRemaining !== undefined) details.guessesRemaining = body.guessesRemaining;
  if (body?.field !== undefined) details.field = body.field;
  const retryAfter = body?.retryAfter ?? parseRetryAfter(headers.get('retry-after'));
  if (retryAfter !== undefined) details.retryAfter = retryAfter;

  const message = body?.message ?? `the vault answered HTTP ${status}`;
  return new BkvError(code, message, details, { status, code: body?.code });
}

function fallbackCode(status: number): ErrorCode {
  return FALLBACK_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'BAD_RESPONSE');
}

/** RFC 9110 §10.2.3 delay-seconds; an HTTP-date is not part of our contract and is ignored. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}
