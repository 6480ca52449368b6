import { SUITE, toBase64url, type RealmResponse } from '@bkv/protocol';
import type { UseCaseDeps } from './deps';

/** `GET /v1/realm`: the public facts a client derives with. */
export function describeRealm({ hsm, policy }: Pick<UseCaseDeps, 'hsm' | 'policy'>): RealmResponse {
  return {
    realmId: toBase64url(hsm.realmId),
    suite: SUITE,
    kdf: policy.kdf,
    kdfMinimum: policy.kdfMinimum,
    guessLimit: { default: policy.guessLimit.default, max: policy.guessLimit.max },
  };
}
