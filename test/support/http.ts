/** Raw HTTP against a vault, for tests that must send what a well-behaved client never would. */
import { p256 } from '@noble/curves/nist.js';
import { toBase64url } from '@bkv/protocol';

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

export async function call(
  url: string,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; raw?: string; contentType?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.json !== undefined) body = JSON.stringify(options.json);
  if (options.raw !== undefined) body = options.raw;
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const response = await fetch(`${url}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** A valid blinded element: any point but the identity is one the vault must evaluate. */
export function randomElement(): string {
  const scalar = p256.utils.randomSecretKey();
  return toBase64url(p256.getPublicKey(scalar, true));
}
