import { BkvError } from '@bkv/protocol';
import type { NextFunction, Request, Response } from 'express';
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface RequestLimits {
  perIp: (req: Request, res: Response, next: NextFunction) => Promise<void>;
  perUser: (req: Request, res: Response, next: NextFunction) => Promise<void>;
}

export interface LimitSettings {
  points: number;
  durationSeconds: number;
}

/**
 * Request limits in front of the use cases. With one process they live in memory; several
 * instances share theirs through the database (see `sharedLimiters`). A limiter whose store
 * fails denies: an attacker must not gain guesses by breaking the limiter.
 */
export function requestLimits(
  perIp: RateLimiterAbstract,
  perUser: RateLimiterAbstract,
): RequestLimits {
  return {
    perIp: (req, _res, next) => consume(perIp, `ip:${req.ip ?? 'unknown'}`, next),
    perUser: (_req, res, next) =>
      consume(perUser, `user:${(res.locals as { userId: string }).userId}`, next),
  };
}

export function memoryLimiters(ip: LimitSettings, user: LimitSettings) {
  const make = (s: LimitSettings, keyPrefix: string) =>
    new RateLimiterMemory({ points: s.points, duration: s.durationSeconds, keyPrefix });
  return { perIp: make(ip, 'ip'), perUser: make(user, 'user') };
}

async function consume(limiter: RateLimiterAbstract, key: string, next: NextFunction) {
  try {
    await limiter.consume(key);
  } catch (err) {
    if (err instanceof RateLimiterRes) {
      throw new BkvError('RATE_LIMITED', 'too many requests', {
        retryAfter: Math.max(1, Math.ceil(err.msBeforeNext / 1000)),
      });
    }
    throw new BkvError('STORE_UNAVAILABLE', 'the request limiter is unavailable', {}, err);
  }
  next();
}
