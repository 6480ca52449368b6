/**
 * Throughput of the adapter's operations on SoftHSM, and its OPRF evaluation against raw
 * synchronous graphene-pk11 calls measured in the same run. Run after `npx tsc -b`:
 *
 *   pnpm --filter @bkv/hsm bench            (BENCH_SECONDS=2 per measurement by default)
 *
 * Ratios, not absolute numbers, are what carries between machines.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { p256_oprf } from '@noble/curves/nist.js';
import { defaultPoolSize } from '../config';
import { ensureDevToken } from '../dev-token';
import { openHsm } from '../open-hsm';
import type { Pkcs11Hsm } from '../pkcs11-hsm';
import { openRawEvaluator } from './raw-graphene';
import { openWorkerEvaluator } from './worker-evaluator';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function ratio(ops: number, raw: number): string {
  return (ops / raw).toFixed(2);
}

/** Runs `op` from `concurrency` closed loops for SECONDS; returns operations per second. */
async function throughput(concurrency: number, op: () => Promise<unknown>): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  const loop = async () => {
    while (performance.now() < end) {
      await op();
      done += 1;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  return done / ((performance.now() - start) / 1000);
}

function syncThroughput(op: () => unknown): number {
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let done = 0;
  while (performance.now() < end) {
    op();
    done += 1;
  }
  return done / ((performance.now() - start) / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(8);

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bkv-hsm-bench-'));
  try {
    const base = await ensureDevToken({ dataDir, tokenLabel: 'bench' });
    const setup = await openHsm(base.config, { initialize: true });
    const key = await setup.makeOprfKey();
    const blinded = Array.from(
      { length: 64 },
      (_, i) => p256_oprf.oprf.blind(Uint8Array.of(i)).blinded,
    );
    let i = 0;
    const nextBlinded = () => blinded[i++ % blinded.length]!;

    // Raw baseline and adapter, interleaved over several rounds so that load from other
    // processes on the machine falls on both alike; the ratio of medians is the figure.
    console.log(`cores ${availableParallelism()}, ${SECONDS} s per figure, ${ROUNDS} rounds`);
    const defaultSize = defaultPoolSize();
    const raw = openRawEvaluator(base.config);
    const adapter = await openHsm({ ...base.config, poolSize: defaultSize });
    const rawRuns: number[] = [];
    const adapterRuns: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      rawRuns.push(syncThroughput(() => raw.evaluate(key, nextBlinded())));
      adapterRuns.push(
        await throughput(defaultSize * 2, () => adapter.evaluateOprf(key, nextBlinded())),
      );
      console.log(
        `round ${round}: raw graphene (sync, 1 session) ${fmt(rawRuns.at(-1)!)} ops/s, ` +
          `adapter (pool ${defaultSize}) ${fmt(adapterRuns.at(-1)!)} ops/s`,
      );
    }
    raw.close();
    await adapter.close();
    const rawOps = median(rawRuns);
    const atDefault = median(adapterRuns);

    // Other pool sizes, once each, against the raw median.
    for (const poolSize of [1, 2, 4, 8].filter((n) => n !== defaultSize)) {
      const hsm = await openHsm({ ...base.config, poolSize });
      const ops = await throughput(poolSize * 2, () => hsm.evaluateOprf(key, nextBlinded()));
      await hsm.close();
      console.log(
        `adapter evaluateOprf, pool ${poolSize}: ${fmt(ops)} ops/s  ratio ${ratio(ops, rawOps)}`,
      );
    }

    // The other design: worker threads doing the whole evaluation synchronously.
    for (const threads of [2, 4]) {
      const workers = await openWorkerEvaluator(base.config, threads);
      const ops = await throughput(threads * 2, () => workers.evaluate(key, nextBlinded()));
      await workers.close();
      console.log(
        `worker threads (${threads}, sync calls each): ${fmt(ops)} ops/s  ` +
          `ratio ${ratio(ops, rawOps)}`,
      );
    }

    // Every operation at the default pool size.
    const data = new Uint8Array(32);
    const aad = new Uint8Array(24);
    const sealed = await setup.seal(data, aad);
    const tag = await setup.mac(data);
    const hsm: Pkcs11Hsm = await openHsm({ ...base.config, poolSize: defaultSize });
    const table: Array<[string, () => Promise<unknown>]> = [
      ['makeOprfKey', () => hsm.makeOprfKey()],
      ['evaluateOprf', () => hsm.evaluateOprf(key, nextBlinded())],
      ['seal (32 B)', () => hsm.seal(data, aad)],
      ['open (32 B)', () => hsm.open(sealed, aad)],
      ['mac', () => hsm.mac(data)],
      ['verifyMac', () => hsm.verifyMac(data, tag)],
      ['random (32 B)', () => hsm.random(32)],
    ];
    console.log(`adapter operations at pool ${defaultSize}:`);
    for (const [name, op] of table) {
      console.log(`  ${name.padEnd(14)} ${fmt(await throughput(defaultSize * 2, op))} ops/s`);
    }
    await hsm.close();
    await setup.close();
    const verdict = atDefault >= 0.9 * rawOps ? 'meets' : 'misses';
    console.log(
      `evaluateOprf medians: raw ${fmt(rawOps)} ops/s, adapter pool ${defaultSize} ` +
        `${fmt(atDefault)} ops/s, ratio ${ratio(atDefault, rawOps)} (${verdict} the 0.9 target)`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
