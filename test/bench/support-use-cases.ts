/**
 * Full recoveries through the vault's use cases, without HTTP: the same store, HSM adapter,
 * metrics and logger the routes use, called directly. Between the HSM ceiling and the HTTP
 * figure, it shows which share of the gap the store takes and which the HTTP layer.
 */
import { recoveryFinishRequest, recoveryStartRequest } from '@bkv/protocol';
import type { UseCaseDeps } from '@bkv/vault';
import { finishRecovery, startRecovery } from '@bkv/vault/dist/use-cases/recovery';
import type { PreparedUser } from './support-http-recovery';

/** Returns one full recovery of prepared user `i`, checked like the HTTP one. */
export function useCaseRecovery(
  deps: UseCaseDeps,
  users: PreparedUser[],
): (i: number) => Promise<void> {
  const parsed = users.map((user) => ({
    user,
    start: recoveryStartRequest.parse(JSON.parse(user.startBody)),
    finish: recoveryFinishRequest.parse(JSON.parse(user.finishBody)),
  }));
  return async (i) => {
    const { user, start, finish } = parsed[i]!;
    const started = await startRecovery(deps, user.userId, start);
    if (started.evaluatedElement !== user.expectedEvaluated) {
      throw new Error('the use case evaluated the blinded element differently');
    }
    const finished = await finishRecovery(deps, user.userId, started.recoveryId, finish);
    if (finished.sealedKey !== user.expectedSealedKey) {
      throw new Error('the use case released another sealed key');
    }
  };
}
