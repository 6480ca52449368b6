/**
 * The HSM-bound ceiling of a recovery: the server's HSM work for one start and one finish
 * (`evaluateOprf` with the record's wrapped key, then `open` of the sealed record under its AAD),
 * called straight on the adapter with no HTTP, store, auth or logging around it.
 */
import { randomBytes } from 'node:crypto';
import { openHsm, type Hsm, type WrappedOprfKey } from '@bkv/hsm';
import { makeTestToken, type TestToken } from '@bkv/hsm/testing';
import { LENGTHS, oprfBlind, recordAad } from '@bkv/protocol';

/** One prepared record: what the store would hand the use cases. */
interface CeilingRecord {
  key: WrappedOprfKey;
  blindedElement: Uint8Array;
  sealed: Uint8Array;
  aad: Uint8Array;
}

export interface HsmCeiling {
  hsm: Hsm;
  poolSize: number;
  /** The HSM work of recovery `n` of record `user % records`. */
  recover(user: number): Promise<void>;
  close(): Promise<void>;
}

/** A fresh token and realm with `count` records made the way enrollment makes them. */
export async function openHsmCeiling(count: number): Promise<HsmCeiling> {
  const token: TestToken = await makeTestToken();
  const hsm = await openHsm(token.config, { initialize: true });
  const records: CeilingRecord[] = [];
  for (let i = 0; i < count; i++) {
    const key = await hsm.makeOprfKey();
    const { blindedElement } = oprfBlind(randomBytes(32), (n) => randomBytes(n));
    // The sealed payload is unlockTag || sealedKey, as the commit use case seals it.
    const payload = randomBytes(LENGTHS.unlockTag + LENGTHS.sealedKey);
    const aad = recordAad(hsm.realmId, `bench-${i}`, 1);
    records.push({ key, blindedElement, sealed: await hsm.seal(payload, aad), aad });
  }

  return {
    hsm,
    poolSize: token.config.poolSize,
    recover: async (user) => {
      const record = records[user % records.length]!;
      await hsm.evaluateOprf(record.key, record.blindedElement);
      const payload = await hsm.open(record.sealed, record.aad);
      payload.fill(0);
    },
    close: async () => {
      await hsm.close();
      await token.cleanup();
    },
  };
}
