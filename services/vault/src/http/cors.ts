/**
 * Cross-origin access for web apps whose pages are served from another origin than the vault
 * (Fetch Standard, "CORS protocol"). Only the origins the operator lists are answered, each by
 * its exact name: there is no wildcard, so a page elsewhere cannot read the vault's answers
 * with a user's token even if it holds one. With no origin listed, no CORS header is sent.
 */
import type { NextFunction, Request, Response } from 'express';

/** The `cors` section of the vault configuration. */
export interface CorsConfig {
  /** Exact origins, e.g. "https://app.example.org" (scheme, host and port; no path). */
  origins: readonly string[];
}

/** What a web app may send: the methods and request headers of the wire contract. */
export const CORS_ALLOW_METHODS = 'GET, POST, DELETE';
export const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, X-Request-Id';

/** Response headers a page may read beyond the safelisted ones. */
export const CORS_EXPOSE_HEADERS = 'Retry-After, X-Request-Id';

/** How long a browser may reuse a preflight answer, in seconds. */
export const CORS_MAX_AGE_SECONDS = 600;

type Middleware = (req: Request, res: Response, next: NextFunction) => void;

/**
 * Answers preflights and marks responses for the listed origins. Mount it in front of the
 * routes it covers; a preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered
 * here with 204 and never reaches them, allowed or not.
 */
export function cors(config: CorsConfig): Middleware {
  const allowed = new Set(config.origins);
  if (allowed.size === 0) return (_req, _res, next) => next();

  return (req, res, next) => {
    // The answer depends on the Origin header, so caches must keep one copy per origin.
    res.vary('Origin');
    const origin = req.get('origin');
    const listed = origin !== undefined && allowed.has(origin);
    const preflight = req.method === 'OPTIONS' && req.get('access-control-request-method');

    // An origin not on the list gets no CORS header: the browser then refuses the page's call.
    if (listed) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      if (!preflight) res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSE_HEADERS);
    }
    if (!preflight) return next();

    // A preflight only asks; the actual request that follows is authenticated and limited.
    if (listed) {
      res.setHeader('Access-Control-Allow-Methods', CORS_ALLOW_METHODS);
      res.setHeader('Access-Control-Allow-Headers', CORS_ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', String(CORS_MAX_AGE_SECONDS));
    }
    res.status(204).end();
  };
}
