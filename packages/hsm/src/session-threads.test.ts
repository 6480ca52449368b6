/**
 * The session threads on their own: answers and failures cross the thread boundary with the
 * codes the adapter's table gives them, and a refusal made before the HSM says so.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { p256 } from '@noble/curves/nist.js';
import { BkvError } from '@bkv/protocol';
import { SessionThreads, UntouchedRefusal } from './session-threads';
import { openTestHsm, type TestHsm } from './testing';

let test: TestHsm;
let threads: SessionThreads;

beforeAll(async () => {
  test = await openTestHsm();
  threads = new SessionThreads(test.token.config.modulePath, 2);
});
afterAll(async () => {
  await threads.close();
  await test.close();
});

/** A handle no session or object has: pkcs11js keeps handles as 8 little-endian bytes. */
const unknownHandle = () => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setUint32(0, 0x7ffffff0, true);
  return bytes;
};

const evaluateRequest = (blindedElement: Uint8Array) => ({
  op: 'evaluate' as const,
  session: unknownHandle(),
  unwrappingKey: unknownHandle(),
  probe: unknownHandle(),
  wrappedKey: new Uint8Array(40),
  publicKey: p256.Point.BASE.multiply(5n).toBytes(false),
  blindedElement,
});

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

it('refuses a malformed element before it uses the session', async () => {
  const err = await failureOf(threads.run('evaluateOprf', evaluateRequest(new Uint8Array(33))));
  expect(err).toBeInstanceOf(UntouchedRefusal);
  expect((err as BkvError).code).toBe('HSM_BAD_INPUT');
});

it('reports a session the token does not know as HSM_UNAVAILABLE', async () => {
  const blinded = p256.Point.BASE.multiply(7n).toBytes(true);
  const err = await failureOf(threads.run('evaluateOprf', evaluateRequest(blinded)));
  expect(err).toBeInstanceOf(BkvError);
  expect(err).not.toBeInstanceOf(UntouchedRefusal);
  expect((err as BkvError).code).toBe('HSM_UNAVAILABLE');
  expect((err as BkvError).message).toMatch(/CKR_SESSION_HANDLE_INVALID/);
});

it('answers many requests at once on its threads, each with its own answer', async () => {
  // Even requests carry a point (refused by the token), odd ones garbage (refused before it).
  const elements = Array.from({ length: 40 }, (_, i) =>
    i % 2 === 0 ? p256.Point.BASE.multiply(BigInt(i + 1)).toBytes(true) : new Uint8Array(33),
  );
  const answers = await Promise.all(
    elements.map((e) => failureOf(threads.run('evaluateOprf', evaluateRequest(e)))),
  );
  answers.forEach((err, i) => {
    expect(err instanceof UntouchedRefusal).toBe(i % 2 === 1);
    expect((err as BkvError).code).toBe(i % 2 === 0 ? 'HSM_UNAVAILABLE' : 'HSM_BAD_INPUT');
  });
});

it('refuses work once closed', async () => {
  const closed = new SessionThreads(test.token.config.modulePath, 1);
  await closed.close();
  const err = await failureOf(closed.run('open', evaluateRequest(new Uint8Array(33))));
  expect((err as BkvError).code).toBe('HSM_UNAVAILABLE');
});

/** The nice value of each of this process's threads (field 19 of /proc/self/task/<tid>/stat). */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // The thread's name, in parentheses, may hold spaces: count from its end (field 3 on).
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

it('runs each thread the given nice steps below the process', async () => {
  const lowered = Math.min(19, getPriority() + 7);
  const atLowered = () => threadNices().filter((nice) => nice === lowered).length;
  const before = atLowered();
  const niced = new SessionThreads(test.token.config.modulePath, 1, 7);
  try {
    // Threads start on demand: the first request starts one.
    await failureOf(niced.run('evaluateOprf', evaluateRequest(new Uint8Array(33))));
    expect(atLowered()).toBe(before + 1);
  } finally {
    await niced.close();
  }
  expect(atLowered()).toBe(before);
});
