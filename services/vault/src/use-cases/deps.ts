/**
 * What the use cases need, passed in so that tests run them against real SoftHSM and a real
 * database without HTTP, with a clock they control.
 */
import type { Hsm } from '@bkv/hsm';
import type { Kdf } from '@bkv/protocol';
import type { Logger } from 'pino';
import type { BackoffPolicy, Store } from '../store/store';

export interface Policy {
  guessLimit: { default: number; max: number };
  kdf: Kdf;
  kdfMinimum: Kdf;
  enrollmentTtlSeconds: number;
  recoveryTtlSeconds: number;
  backoff: BackoffPolicy;
}

/** Counters the use cases report to; the service binds them to Prometheus metrics. */
export interface VaultEvents {
  guessConsumed(): void;
  recordDestroyed(): void;
}

export interface UseCaseDeps {
  store: Store;
  hsm: Hsm;
  policy: Policy;
  clock: () => Date;
  /** A fresh id for a pending enrollment or recovery: 16 random bytes, base64url. */
  newId: () => string;
  log: Logger;
  events: VaultEvents;
}

export const noEvents: VaultEvents = { guessConsumed() {}, recordDestroyed() {} };
