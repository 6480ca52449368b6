/**
 * Request limits in front of the use cases: per IP and per user. One process keeps its counts
 * in memory; several instances on one PostgreSQL database keep them in a table of that
 * database, so that adding instances does not multiply what an attacker may try. A limiter
 * whose store fails denies (STORE_UNAVAILABLE): breaking the limiter must not open the door.
 */
import { createHash } from 'node:crypto';
import { BkvError } from '@bkv/protocol';
import type { NextFunction, Request, Response } from 'express';
import { Pool } from 'pg';
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { VaultConfig } from '../config';

export interface RequestLimits {
  perIp: (req: Request, res: Response, next: NextFunction) => Promise<void>;
  perUser: (req: Request, res: Response, next: NextFunction) => Promise<void>;
}

export interface LimitSettings {
  points: number;
  durationSeconds: number;
}

/** The two limiters and the life of whatever holds their counts. */
export interface Limiters {
  perIp: RateLimiterAbstract;
  perUser: RateLimiterAbstract;
  /** Resolves when the counts' store answers; part of readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The table that holds the shared counts, next to the store's tables. */
export const LIMITS_TABLE = 'bkv_rate_limits';

/** Keys are stored in a varchar(255); longer ones (a long `sub`) are hashed to fit. */
const MAX_KEY_CHARS = 128;

/** Express middleware over the two limiters; the user limit runs after authentication. */
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

/**
 * The limiters the configuration calls for: shared in PostgreSQL when the store is
 * PostgreSQL (several instances may run), in memory for SQLite (one process owns the file).
 * Throws STORE_UNAVAILABLE when the database cannot be reached at start.
 */
export function openLimiters(
  config: Pick<VaultConfig, 'store' | 'limits'>,
  onIdleError?: (err: Error) => void,
): Promise<Limiters> {
  const { store, limits } = config;
  if (store.kind === 'sqlite') {
    return Promise.resolve(memoryLimiters(limits.perIp, limits.perUser));
  }
  return sharedLimiters({
    url: store.url,
    statementTimeoutMs: store.statementTimeoutMs,
    ip: limits.perIp,
    user: limits.perUser,
    onIdleError,
  });
}

export function memoryLimiters(ip: LimitSettings, user: LimitSettings): Limiters {
  const make = (s: LimitSettings, keyPrefix: string) =>
    new RateLimiterMemory({ points: s.points, duration: s.durationSeconds, keyPrefix });
  return {
    perIp: make(ip, 'ip'),
    perUser: make(user, 'user'),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

export interface SharedLimitOptions {
  url: string;
  ip: LimitSettings;
  user: LimitSettings;
  /** Connections at most for the limiters of this instance. Default 4. */
  poolSize?: number;
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
  onIdleError?: (err: Error) => void;
}

/**
 * Limiters whose counts live in PostgreSQL: each consume is one upsert, so every instance
 * sees the points the others spent. They use a small pool of their own, so that a burst of
 * limited requests cannot take the connections the store needs for guesses.
 */
export async function sharedLimiters(options: SharedLimitOptions): Promise<Limiters> {
  const pool = new Pool({
    connectionString: options.url,
    max: options.poolSize ?? 4,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    statement_timeout: options.statementTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    application_name: 'bkv-limits',
    keepAlive: true,
  });
  // An idle client that loses its server emits 'error'; unhandled, that would end the process.
  pool.on('error', (err) => options.onIdleError?.(err));

  try {
    await createLimitsTable(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new BkvError('STORE_UNAVAILABLE', 'the request limits table cannot be made', {}, err);
  }

  // The library's own table creation is off (`tableCreated`): it would throw unhandled.
  const make = (s: LimitSettings, keyPrefix: string) =>
    new RateLimiterPostgres({
      storeClient: pool,
      storeType: 'pool',
      tableName: LIMITS_TABLE,
      tableCreated: true,
      keyPrefix,
      points: s.points,
      duration: s.durationSeconds,
    });
  return {
    perIp: make(options.ip, 'ip'),
    perUser: make(options.user, 'user'),
    ping: async () => {
      try {
        await pool.query('SELECT 1');
      } catch (err) {
        throw new BkvError(
          'STORE_UNAVAILABLE',
          'the request limits database is unavailable',
          {},
          err,
        );
      }
    },
    close: () => pool.end(),
  };
}

/** The library's table layout; several instances starting at once may race to make it. */
async function createLimitsTable(pool: Pool): Promise<void> {
  try {
    await pool.query(`CREATE TABLE IF NOT EXISTS ${LIMITS_TABLE} (
      key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint)`);
  } catch (err) {
    // 23505 (pg_type row) or 42P07: another instance made it at the same moment.
    const code = (err as { code?: unknown }).code;
    if (code !== '23505' && code !== '42P07') throw err;
  }
}

async function consume(limiter: RateLimiterAbstract, key: string, next: NextFunction) {
  const stored =
    key.length <= MAX_KEY_CHARS ? key : `h:${createHash('sha256').update(key).digest('base64url')}`;
  try {
    await limiter.consume(stored);
  } catch (err) {
    if (err instanceof RateLimiterRes) {
      throw new BkvError('RATE_LIMITED', 'too many requests', {
        retryAfter: Math.max(1, Math.ceil(err.msBeforeNext / 1000)),
      });
    }
    // Fail closed: a limiter that cannot count refuses.
    throw new BkvError('STORE_UNAVAILABLE', 'the request limiter is unavailable', {}, err);
  }
  next();
}
