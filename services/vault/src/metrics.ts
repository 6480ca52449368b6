/**
 * Prometheus metrics: requests by route and outcome code, HSM latency by operation, guesses
 * consumed and records destroyed. One registry per vault so that tests can run several.
 */
import type { Hsm } from '@bkv/hsm';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { VaultEvents } from './use-cases/deps';

export interface VaultMetrics {
  registry: Registry;
  requests: Counter<'route' | 'code'>;
  requestSeconds: Histogram<'route'>;
  hsmSeconds: Histogram<'op' | 'outcome'>;
  events: VaultEvents;
}

export function createMetrics(): VaultMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'bkv_requests_total',
    help: 'Requests by route and outcome code',
    labelNames: ['route', 'code'] as const,
    registers: [registry],
  });
  const requestSeconds = new Histogram({
    name: 'bkv_request_duration_seconds',
    help: 'Request latency by route',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const hsmSeconds = new Histogram({
    name: 'bkv_hsm_duration_seconds',
    help: 'HSM operation latency',
    labelNames: ['op', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [registry],
  });
  const guesses = new Counter({
    name: 'bkv_guesses_consumed_total',
    help: 'Passphrase guesses consumed by recovery starts',
    registers: [registry],
  });
  const destroyed = new Counter({
    name: 'bkv_records_destroyed_total',
    help: 'Records destroyed after their last guess',
    registers: [registry],
  });
  return {
    registry,
    requests,
    requestSeconds,
    hsmSeconds,
    events: { guessConsumed: () => guesses.inc(), recordDestroyed: () => destroyed.inc() },
  };
}

/** The same HSM, each operation's latency observed; everything else passes straight through. */
export function instrumentHsm(hsm: Hsm, metrics: VaultMetrics): Hsm {
  async function timed<T>(op: string, call: () => Promise<T>): Promise<T> {
    const stop = metrics.hsmSeconds.startTimer({ op });
    try {
      const result = await call();
      stop({ outcome: 'ok' });
      return result;
    } catch (err) {
      stop({ outcome: 'error' });
      throw err;
    }
  }
  return {
    realmId: hsm.realmId,
    makeOprfKey: () => timed('makeOprfKey', () => hsm.makeOprfKey()),
    evaluateOprf: (key, element) => timed('evaluateOprf', () => hsm.evaluateOprf(key, element)),
    seal: (plaintext, aad) => timed('seal', () => hsm.seal(plaintext, aad)),
    open: (sealed, aad) => timed('open', () => hsm.open(sealed, aad)),
    mac: (data) => timed('mac', () => hsm.mac(data)),
    verifyMac: (data, tag) => timed('verifyMac', () => hsm.verifyMac(data, tag)),
    random: (n) => hsm.random(n),
    ping: () => hsm.ping(),
    close: () => hsm.close(),
  };
}
