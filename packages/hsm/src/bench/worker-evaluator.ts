/**
 * The first form of the session threads, for comparison: worker threads, each with a session
 * and a login of its own, doing the whole evaluation with synchronous pkcs11js calls (point
 * arithmetic included), the main thread only passing messages. The adapter's session threads
 * use the main thread's pooled sessions instead; the bench measures both.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as pkcs11js from 'pkcs11js';
import type { HsmConfig } from '../config';
import type { WrappedOprfKey } from '../hsm';
import { findSlotByLabel } from '../module';
import { findObjects, readAttribute } from '../objects';
import * as points from '../points';
import * as templates from '../templates';

interface Setup {
  modulePath: string;
  tokenLabel: string;
  pin: string;
  wrapLabel: string;
}

interface Request {
  id: number;
  key: WrappedOprfKey;
  blinded: Uint8Array;
}

export interface WorkerEvaluator {
  evaluate(key: WrappedOprfKey, blinded: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Starts `threads` workers, each logged in on its own session. */
export async function openWorkerEvaluator(
  config: HsmConfig,
  threads: number,
): Promise<WorkerEvaluator> {
  const setup: Setup = {
    modulePath: config.modulePath,
    tokenLabel: config.tokenLabel,
    pin: config.pin.reveal(),
    wrapLabel: `${config.keyLabelPrefix}wrap.g1`,
  };
  const pending = new Map<
    number,
    { resolve: (z: Uint8Array) => void; reject: (e: Error) => void }
  >();
  const workers = await Promise.all(
    Array.from({ length: threads }, async () => {
      const worker = new Worker(__filename, { workerData: setup });
      worker.on('message', ({ id, z, error }: { id: number; z?: Uint8Array; error?: string }) => {
        const waiter = pending.get(id);
        pending.delete(id);
        if (z !== undefined) waiter?.resolve(z);
        else waiter?.reject(new Error(error));
      });
      await new Promise((resolve) => worker.once('online', resolve));
      return worker;
    }),
  );
  let next = 0;
  return {
    evaluate(key, blinded) {
      const id = next++;
      const worker = workers[id % workers.length]!;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, key, blinded } satisfies Request);
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** Worker side: one session, synchronous calls, the adapter's steps in order. */
function serve(setup: Setup): void {
  const lib = new pkcs11js.PKCS11();
  lib.load(setup.modulePath);
  try {
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch {
    // Already initialised by the main thread: the module is shared by the whole process.
  }
  const slot = findSlotByLabel(lib, setup.tokenLabel)!;
  const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    lib.C_Login(session, pkcs11js.CKU_USER, setup.pin);
  } catch {
    // Logged in already: login state belongs to the process.
  }
  const [wrapKey] = findObjects(lib, session, [
    { type: pkcs11js.CKA_LABEL, value: setup.wrapLabel },
  ]);
  const deriveX = (key: pkcs11js.Handle, point: Uint8Array) => {
    const mechanism = {
      mechanism: pkcs11js.CKM_ECDH1_DERIVE,
      parameter: {
        type: pkcs11js.CK_PARAMS_EC_DH,
        kdf: pkcs11js.CKD_NULL,
        publicData: Buffer.from(point),
      },
    };
    const secret = lib.C_DeriveKey(session, mechanism, key, templates.ECDH_SECRET);
    const value = readAttribute(lib, session, secret, pkcs11js.CKA_VALUE);
    lib.C_DestroyObject(session, secret);
    return value;
  };
  const evaluate = ({ key, blinded }: Request): Uint8Array => {
    const plan = points.planEvaluation(blinded, key.publicKey);
    const mechanism = { mechanism: pkcs11js.CKM_AES_KEY_WRAP };
    const wrapped = Buffer.from(key.wrappedKey);
    const k = lib.C_UnwrapKey(session, mechanism, wrapKey!, wrapped, templates.UNWRAPPED_OPRF_KEY);
    try {
      return plan.finish(deriveX(k, plan.first), deriveX(k, plan.second));
    } finally {
      lib.C_DestroyObject(session, k);
    }
  };
  parentPort!.on('message', (request: Request) => {
    try {
      parentPort!.postMessage({ id: request.id, z: evaluate(request) });
    } catch (err) {
      parentPort!.postMessage({ id: request.id, error: String(err) });
    }
  });
}

if (!isMainThread) serve(workerData as Setup);
