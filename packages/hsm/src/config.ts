/**
 * HSM configuration: which PKCS#11 module, which token, where the PIN comes from. Validated at
 * once with every problem reported, then frozen. The PIN is never a literal in a config file:
 * the config names an environment variable or a file that holds it.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { BkvError } from '@bkv/protocol';
import { Secret } from './secret';

/** Validated, frozen HSM configuration. */
export interface HsmConfig {
  /** Absolute path of the PKCS#11 module (`.so`), e.g. `/usr/lib/softhsm/libsofthsm2.so`. */
  readonly modulePath: string;
  /** The token's label; slots are found by it, never by number. */
  readonly tokenLabel: string;
  /** The user PIN, redacted in every printed form. */
  readonly pin: Secret;
  /** Sessions kept open and logged in; one operation at a time runs on each. */
  readonly poolSize: number;
  /** Prefix of the realm key labels, so several realms can share one token. */
  readonly keyLabelPrefix: string;
  /**
   * Nice steps added to the session threads (Linux): below the event loop, which hands out
   * their work and answers for it, so that it runs first when the cores are short.
   */
  readonly threadNice: number;
}

/** The default `threadNice`; 0 keeps the threads at the process's priority. */
export const DEFAULT_THREAD_NICE = 10;

/** What a config file or the service's settings give; the PIN by reference only. */
export const hsmConfigInputSchema = z
  .object({
    modulePath: z.string().startsWith('/', 'must be an absolute path'),
    tokenLabel: z.string().min(1).max(32),
    pinEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    pinFile: z.string().startsWith('/', 'must be an absolute path').optional(),
    poolSize: z.number().int().min(1).max(64).optional(),
    threadNice: z.number().int().min(0).max(19).optional(),
    keyLabelPrefix: z
      .string()
      .max(16)
      .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, dot, dash or underscore')
      .default('bkv.'),
  })
  .strict()
  .refine((c) => (c.pinEnv === undefined) !== (c.pinFile === undefined), {
    message: 'give exactly one of pinEnv and pinFile',
    path: ['pinEnv'],
  });

export type HsmConfigInput = z.input<typeof hsmConfigInputSchema>;

/**
 * The default pool size: the libuv thread pool (4 threads unless UV_THREADPOOL_SIZE says
 * otherwise) runs the HSM calls, so more sessions than threads only queue; fewer than two per
 * core leaves a core idle while the other waits on the event loop.
 */
export function defaultPoolSize(): number {
  const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4) || 4;
  return Math.max(2, Math.min(threads, 2 * availableParallelism()));
}

/**
 * Validates `input` and resolves the PIN from the environment variable or file it names.
 * Throws one INVALID_REQUEST `BkvError` listing every problem (never the PIN itself).
 */
export function loadHsmConfig(input: unknown, env: NodeJS.ProcessEnv = process.env): HsmConfig {
  const parsed = hsmConfigInputSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.join('.') || '(root)'}: ${i.message}`,
    );
    throw new BkvError('INVALID_REQUEST', `invalid HSM config: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  const pin = readPin(c.pinEnv, c.pinFile, env);
  return Object.freeze({
    modulePath: c.modulePath,
    tokenLabel: c.tokenLabel,
    pin,
    poolSize: c.poolSize ?? defaultPoolSize(),
    keyLabelPrefix: c.keyLabelPrefix,
    threadNice: c.threadNice ?? DEFAULT_THREAD_NICE,
  });
}

/** Reads the PIN by reference; a missing or empty PIN is a configuration error. */
function readPin(pinEnv: string | undefined, pinFile: string | undefined, env: NodeJS.ProcessEnv) {
  let value: string | undefined;
  let where: string;
  if (pinEnv !== undefined) {
    where = `environment variable ${pinEnv}`;
    value = env[pinEnv];
  } else {
    where = `file ${pinFile}`;
    try {
      value = readFileSync(pinFile!, 'utf8').trim();
    } catch (err) {
      throw new BkvError(
        'INVALID_REQUEST',
        `invalid HSM config: cannot read PIN ${where}`,
        {},
        err,
      );
    }
  }
  if (value === undefined || value === '') {
    throw new BkvError('INVALID_REQUEST', `invalid HSM config: PIN ${where} is empty or unset`);
  }
  return new Secret(value);
}
