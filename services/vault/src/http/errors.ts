import { BkvError, ERROR_CODES, type ErrorCode } from '@bkv/protocol';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';

/**
 * Turns anything thrown on the request path into the wire error body. Clients get the code and
 * the few details meant for them; internal detail stays in the server log under `err`.
 */
export function toBkvError(err: unknown): BkvError {
  if (err instanceof BkvError) {
    // The schema has refused every bad point by then: what the HSM still refuses is stored
    // data (a wrapped key, a sealed payload), the service's fault, not the caller's.
    if (err.code === 'HSM_BAD_INPUT') return new BkvError('INTERNAL', 'internal error', {}, err);
    return err;
  }
  if (err instanceof z.ZodError) {
    const issue = err.issues[0];
    // An unknown field is reported at the object that holds it: name the field itself.
    const path = issue?.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue?.path;
    const field = path?.join('.') || undefined;
    return new BkvError(
      'INVALID_REQUEST',
      `invalid request${field ? ` at ${field}` : ''}: ${err.issues[0]?.message ?? 'malformed'}`,
      field ? { field } : {},
    );
  }
  // body-parser marks its errors with a `type` and a client status.
  const type = (err as { type?: unknown }).type;
  if (type === 'entity.too.large') {
    return new BkvError('INVALID_REQUEST', 'the request body is too large', {}, err);
  }
  if (type === 'entity.parse.failed') {
    return new BkvError('INVALID_REQUEST', 'the request body is not valid JSON', {}, err);
  }
  // Any other body the parser refuses as the client's fault: one that does not decompress
  // (no `type` then), or that ended early.
  if ((err as { status?: number }).status === 400) {
    return new BkvError('INVALID_REQUEST', 'the request body could not be read', {}, err);
  }
  if ((err as { status?: number }).status === 415 || type === 'encoding.unsupported') {
    return new BkvError('INVALID_REQUEST', 'unsupported request encoding', {}, err);
  }
  return new BkvError('INTERNAL', 'internal error', {}, err);
}

/** The `{"error": {...}}` body and status of a code. */
export function sendError(res: Response, error: BkvError): void {
  const { status } = ERROR_CODES[error.code];
  (res.locals as { code?: string }).code = error.code;
  if (error.details.retryAfter !== undefined) {
    res.setHeader('Retry-After', String(Math.ceil(error.details.retryAfter)));
  }
  // A server-side failure says what to do, never what broke inside (that is in the log).
  const message = status >= 500 ? ERROR_CODES[error.code].advice : error.message;
  res.status(status).json({ error: { code: error.code, message, ...error.details } });
}

export function errorHandler(err: unknown, _req: Request, res: Response, next: NextFunction) {
  if (res.headersSent) return next(err);
  const error = toBkvError(err);
  // Kept for the request line's `err` (request-log.ts).
  if (ERROR_CODES[error.code].status >= 500) (res.locals as { err?: unknown }).err = error;
  sendError(res, error);
}

export function notFound(code: ErrorCode = 'NOT_FOUND') {
  return (_req: Request, res: Response) => sendError(res, new BkvError(code, 'not found'));
}
