/**
 * Vault configuration: defaults, then a JSON file, then `BKV_*` environment variables, all
 * validated at once at start-up with every problem reported, then frozen.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { kdfMeets } from '@bkv/protocol';
import { z } from 'zod';

const kdf = z.strictObject({
  alg: z.literal('argon2id'),
  memoryKiB: z.number().int().min(8),
  iterations: z.number().int().min(1),
  parallelism: z.number().int().min(1),
});

const limit = z.strictObject({
  points: z.number().int().min(1),
  durationSeconds: z.number().int().min(1),
});

const configSchema = z.strictObject({
  /** Folder for the embedded defaults: SoftHSM token, SQLite file, local signing key. */
  dataDir: z.string().min(1),
  listen: z.strictObject({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    /**
     * Which proxies' X-Forwarded-For to believe for the client address (express "trust
     * proxy"): false (none), a hop count, or addresses and subnets. Behind a load balancer,
     * without it every client shares the balancer's per-IP limit.
     */
    trustProxy: z.union([z.boolean(), z.number().int().min(0), z.array(z.string().min(1))]),
  }),
  hsm: z.strictObject({
    /** Create and use a SoftHSM token under `dataDir/softhsm` (development, quick start). */
    devToken: z.boolean(),
    modulePath: z.string().min(1),
    tokenLabel: z.string().min(1),
    /** Name of the environment variable that holds the user PIN. */
    pinEnv: z.string().min(1).optional(),
    /** File that holds the user PIN. */
    pinFile: z.string().min(1).optional(),
    poolSize: z.number().int().min(1).max(256).optional(),
    /** Nice steps the HSM session threads take below the event loop (Linux). */
    threadNice: z.number().int().min(0).max(19).optional(),
    /** Bound on HSM operations in flight; past `maxQueue` waiting, requests get OVERLOADED. */
    maxConcurrent: z.number().int().min(1),
    maxQueue: z.number().int().min(0),
  }),
  store: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('sqlite'), path: z.string().min(1).optional() }),
    z.strictObject({
      kind: z.literal('postgres'),
      url: z.string().min(1),
      poolSize: z.number().int().min(1).optional(),
      statementTimeoutMs: z.number().int().min(1).optional(),
    }),
  ]),
  auth: z.discriminatedUnion('mode', [
    z.strictObject({
      mode: z.literal('jwt'),
      issuer: z.string().min(1),
      audience: z.string().min(1),
      jwksFile: z.string().min(1).optional(),
      jwksUrl: z.url().optional(),
      algorithms: z.array(z.string().min(1)).min(1),
    }),
    z.strictObject({
      /** Tokens minted by `bkv token` from a key in the data folder: for one machine only. */
      mode: z.literal('local'),
      /** Allow local mode on a non-loopback address (a deliberate, documented risk). */
      allowNonLoopback: z.boolean(),
    }),
  ]),
  policy: z.strictObject({
    guessLimit: z.strictObject({
      default: z.number().int().min(1),
      max: z.number().int().min(1).max(1000),
    }),
    kdf,
    kdfMinimum: kdf,
    enrollmentTtlSeconds: z.number().int().min(1),
    recoveryTtlSeconds: z.number().int().min(1),
    backoff: z.strictObject({
      free: z.number().int().min(0),
      baseMs: z.number().int().min(1),
      capMs: z.number().int().min(1),
    }),
  }),
  limits: z.strictObject({
    perIp: limit,
    perUser: limit,
    bodyBytes: z.number().int().min(256),
  }),
  log: z.strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  }),
  /** Web app origins allowed to call `/v1` from a browser; exact, e.g. "https://app.example". */
  cors: z.strictObject({
    origins: z.array(
      z.string().refine(isOrigin, 'must be an exact origin (scheme://host[:port]), no wildcard'),
    ),
  }),
  shutdownGraceSeconds: z.number().min(0),
});

export type VaultConfig = z.infer<typeof configSchema>;

/** Everything the quick start needs, on one machine, with nothing to set. */
export function defaultConfig(): VaultConfig {
  return {
    dataDir: 'data',
    listen: { host: '127.0.0.1', port: 8420, trustProxy: false },
    hsm: {
      devToken: true,
      modulePath: '/usr/lib/softhsm/libsofthsm2.so',
      tokenLabel: 'bkv',
      maxConcurrent: 64,
      maxQueue: 1024,
    },
    store: { kind: 'sqlite' },
    auth: { mode: 'local', allowNonLoopback: false },
    policy: {
      guessLimit: { default: 10, max: 20 },
      kdf: { alg: 'argon2id', memoryKiB: 65536, iterations: 3, parallelism: 1 },
      kdfMinimum: { alg: 'argon2id', memoryKiB: 19456, iterations: 2, parallelism: 1 },
      enrollmentTtlSeconds: 600,
      recoveryTtlSeconds: 300,
      backoff: { free: 3, baseMs: 1000, capMs: 3_600_000 },
    },
    limits: {
      perIp: { points: 120, durationSeconds: 60 },
      perUser: { points: 30, durationSeconds: 60 },
      bodyBytes: 4096,
    },
    log: { level: 'info' },
    cors: { origins: [] },
    shutdownGraceSeconds: 10,
  };
}

/** `BKV_*` variables and where they land in the configuration. */
const ENV: Record<string, { path: string[]; type: 'string' | 'number' | 'boolean' }> = {
  BKV_DATA_DIR: { path: ['dataDir'], type: 'string' },
  BKV_HOST: { path: ['listen', 'host'], type: 'string' },
  BKV_PORT: { path: ['listen', 'port'], type: 'number' },
  BKV_HSM_DEV_TOKEN: { path: ['hsm', 'devToken'], type: 'boolean' },
  BKV_HSM_MODULE: { path: ['hsm', 'modulePath'], type: 'string' },
  BKV_HSM_TOKEN_LABEL: { path: ['hsm', 'tokenLabel'], type: 'string' },
  BKV_HSM_PIN_FILE: { path: ['hsm', 'pinFile'], type: 'string' },
  BKV_HSM_POOL_SIZE: { path: ['hsm', 'poolSize'], type: 'number' },
  BKV_HSM_THREAD_NICE: { path: ['hsm', 'threadNice'], type: 'number' },
  BKV_LOG_LEVEL: { path: ['log', 'level'], type: 'string' },
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** A JSON file; `BKV_CONFIG` when absent. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Applied last, after the environment (the CLI's flags). */
  overrides?: Partial<Record<string, unknown>>;
}

/** Loads, merges and validates the configuration; throws ConfigError listing every problem. */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<VaultConfig> {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  let merged = { ...defaultConfig() } as Record<string, unknown>;

  const file = options.file ?? env.BKV_CONFIG;
  if (file) {
    try {
      merged = deepMerge(merged, JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>);
    } catch (err) {
      problems.push(`config file ${file}: ${(err as Error).message}`);
    }
  }

  for (const [name, target] of Object.entries(ENV)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = parseEnv(raw, target.type);
    if (value === undefined) problems.push(`${name}: expected a ${target.type}, got "${raw}"`);
    else setPath(merged, target.path, value);
  }
  applyUrlEnv(merged, env);
  if (options.overrides) merged = deepMerge(merged, options.overrides);

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push(`${issue.path.join('.')}: ${issue.message}`);
  } else {
    problems.push(...crossChecks(parsed.data));
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);

  const config = parsed.data;
  config.dataDir = path.resolve(config.dataDir);
  return deepFreeze(config);
}

/**
 * `BKV_DATABASE_URL` switches the store to PostgreSQL, keeping the file's pool and timeout
 * settings when the file already names PostgreSQL.
 */
function applyUrlEnv(merged: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  if (env.BKV_DATABASE_URL) {
    const store = merged.store as { kind?: string };
    const base = store.kind === 'postgres' ? store : {};
    merged.store = { ...base, kind: 'postgres', url: env.BKV_DATABASE_URL };
  }
  if (env.BKV_HSM_PIN_ENV) setPath(merged, ['hsm', 'pinEnv'], env.BKV_HSM_PIN_ENV);
  // `BKV_CORS_ORIGINS`: a comma-separated list of exact origins, replacing the file's.
  if (env.BKV_CORS_ORIGINS !== undefined) {
    const origins = env.BKV_CORS_ORIGINS.split(',').map((origin) => origin.trim());
    setPath(merged, ['cors', 'origins'], origins.filter(Boolean));
  }
}

function crossChecks(config: VaultConfig): string[] {
  const problems: string[] = [];
  const { policy, hsm, auth } = config;
  if (policy.guessLimit.default > policy.guessLimit.max) {
    problems.push('policy.guessLimit.default: must not exceed policy.guessLimit.max');
  }
  if (!kdfMeets(policy.kdf, policy.kdfMinimum)) {
    problems.push('policy.kdf: must meet policy.kdfMinimum');
  }
  if (policy.backoff.baseMs > policy.backoff.capMs) {
    problems.push('policy.backoff.baseMs: must not exceed policy.backoff.capMs');
  }
  if (!hsm.devToken && !hsm.pinEnv && !hsm.pinFile) {
    problems.push('hsm: set pinEnv or pinFile (or devToken for development)');
  }
  if (auth.mode === 'jwt' && !auth.jwksFile === !auth.jwksUrl) {
    problems.push('auth: set exactly one of jwksFile and jwksUrl');
  }
  if (auth.mode === 'local' && !auth.allowNonLoopback && !isLoopback(config.listen.host)) {
    problems.push(
      `auth.mode local refuses to listen on ${config.listen.host}: use a loopback address, ` +
        'JWT auth, or set auth.allowNonLoopback',
    );
  }
  return problems;
}

/** True for the serialised origin of an http(s) URL, as a browser sends it in `Origin`. */
function isOrigin(text: string): boolean {
  // A pattern such as https://*.example.org would parse, but is never an origin.
  if (text.includes('*')) return false;
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
  } catch {
    return false;
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function parseEnv(raw: string, type: 'string' | 'number' | 'boolean'): unknown {
  if (type === 'string') return raw;
  if (type === 'number') return /^\d+$/.test(raw) ? Number(raw) : undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  return undefined;
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    // A store or auth section names its kind: replace it whole when the kind changes.
    const kindChanged =
      isPlainObject(value) &&
      isPlainObject(current) &&
      (('kind' in value && value.kind !== current.kind) ||
        ('mode' in value && value.mode !== current.mode));
    out[key] =
      isPlainObject(value) && isPlainObject(current) && !kindChanged
        ? deepMerge(current, value)
        : value;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (isPlainObject(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
