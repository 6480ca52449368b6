/**
 * The baseline the adapter is measured against: synchronous graphene-pk11 calls doing the same
 * OPRF evaluation steps in a loop on one session, blocking the thread (as a naive adapter would).
 */
import * as graphene from 'graphene-pk11';
import * as pkcs11js from 'pkcs11js';
import type { HsmConfig } from '../config';
import type { WrappedOprfKey } from '../hsm';
import * as points from '../points';

export interface RawEvaluator {
  evaluate(key: WrappedOprfKey, blindedElement: Uint8Array): Uint8Array;
  close(): void;
}

/** Opens one graphene session on the token (the module is shared with the adapter's). */
export function openRawEvaluator(config: HsmConfig): RawEvaluator {
  const mod = graphene.Module.load(config.modulePath, 'SoftHSM');
  mod.initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  const slots = mod.getSlots(true);
  let slot: graphene.Slot | undefined;
  for (let i = 0; i < slots.length; i++) {
    const candidate = slots.items(i);
    if (candidate.getToken().label.replace(/[\0 ]+$/, '') === config.tokenLabel) slot = candidate;
  }
  if (slot === undefined) throw new Error('token not found');
  const session = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
  try {
    session.login(config.pin.reveal());
  } catch (err) {
    if (!String(err).includes('CKR_USER_ALREADY_LOGGED_IN')) throw err;
  }
  const wrapKey = session
    .find({ class: graphene.ObjectClass.SECRET_KEY, label: `${config.keyLabelPrefix}wrap.g1` })
    .items(0)
    .toType<graphene.SecretKey>();

  const deriveX = (key: graphene.Key, point: Uint8Array): Buffer => {
    const params = new graphene.EcdhParams(graphene.EcKdf.NULL, null, Buffer.from(point));
    const secret = session.deriveKey({ name: 'ECDH1_DERIVE', params }, key, {
      class: graphene.ObjectClass.SECRET_KEY,
      keyType: graphene.KeyType.GENERIC_SECRET,
      token: false,
      sensitive: false,
      extractable: true,
      valueLen: 32,
    });
    const value = secret.getAttribute({ value: null }).value as Buffer;
    secret.destroy();
    return value;
  };

  return {
    evaluate(key, blindedElement) {
      const plan = points.planEvaluation(blindedElement, key.publicKey);
      const k = session.unwrapKey(
        { name: 'AES_KEY_WRAP', params: null },
        wrapKey,
        Buffer.from(key.wrappedKey),
        {
          class: graphene.ObjectClass.PRIVATE_KEY,
          keyType: graphene.KeyType.EC,
          token: false,
          private: true,
          sensitive: true,
          extractable: false,
          derive: true,
        },
      );
      try {
        return plan.finish(deriveX(k, plan.first), deriveX(k, plan.second));
      } finally {
        k.destroy();
      }
    },
    close() {
      session.close();
    },
  };
}
