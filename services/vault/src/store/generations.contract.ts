/**
 * The record-generation half of the store contract: a user's record versions never repeat,
 * across a forget and across a destruction followed by a forget. Pending recoveries, the
 * sealed payload's AAD and guess outcomes all name a generation by (user, version), so a
 * repeated version would let an old generation's state act on a new record.
 */
import { at, enrolled, enrollmentFor, newUserId, recordFrom, startOf } from './store-fixtures';
import type { StoreHarness } from './store.contract';
import type { CommitOutcome, Store } from './store';

/** Puts a fresh enrollment for `userId` and commits it as `version` over `expected`. */
async function commitAs(
  store: Store,
  userId: string,
  expected: number | null,
  version: number,
): Promise<CommitOutcome> {
  const enrollment = enrollmentFor(userId);
  await store.putEnrollment(enrollment);
  return store.commitEnrollment(enrollment.id, expected, recordFrom(enrollment, version), at(3000));
}

export function generationsContract(harness: () => StoreHarness): void {
  const store = () => harness().store;

  describe('record generations', () => {
    it('says 0 for a user who never had a record and follows every commit', async () => {
      expect(await store().lastVersion(newUserId())).toBe(0);
      const { userId } = await enrolled(store());
      expect(await store().lastVersion(userId)).toBe(1);
      expect(await commitAs(store(), userId, 1, 2)).toEqual({ kind: 'committed' });
      expect(await store().lastVersion(userId)).toBe(2);
    });

    it('numbers the record after a forget above the one forgotten', async () => {
      const { userId } = await enrolled(store());
      expect(await store().deleteRecord(userId)).toBe(true);
      expect(await store().lastVersion(userId)).toBe(1);

      // No row is left to conflict on: the remembered version refuses the repeat by itself.
      expect(await commitAs(store(), userId, null, 1)).toEqual({ kind: 'conflict' });
      expect(await store().getRecord(userId)).toBeNull();
      expect(await commitAs(store(), userId, null, 2)).toEqual({ kind: 'committed' });
      expect(await store().getRecord(userId)).toMatchObject({ state: 'active', version: 2 });
    });

    it('keeps counting after a destruction and a forget', async () => {
      const { userId } = await enrolled(store(), 1);
      await store().startRecovery(startOf(userId, at(2000)));
      await store().startRecovery(startOf(userId, at(2001)));
      expect(await store().getRecord(userId)).toMatchObject({ state: 'locked', version: 1 });
      expect(await store().deleteRecord(userId)).toBe(true);

      expect(await store().lastVersion(userId)).toBe(1);
      expect(await commitAs(store(), userId, null, 1)).toEqual({ kind: 'conflict' });
      expect(await commitAs(store(), userId, null, 2)).toEqual({ kind: 'committed' });
      expect(await store().getRecord(userId)).toMatchObject({ state: 'active', version: 2 });
    });

    it('lets one of two commits racing after a forget through', async () => {
      const { userId } = await enrolled(store());
      await store().deleteRecord(userId);
      const outcomes = await Promise.all([
        commitAs(store(), userId, null, 2),
        commitAs(store(), userId, null, 2),
      ]);
      expect(outcomes.map((o) => o.kind).sort()).toEqual(['committed', 'conflict']);
      expect(await store().lastVersion(userId)).toBe(2);
    });

    it('refuses a version taken by a commit that was then forgotten', async () => {
      // Two commits read "no record, last 1"; one commits 2 and is forgotten before the other
      // reaches the store, which finds no row at all and must still be refused.
      const { userId } = await enrolled(store());
      await store().deleteRecord(userId);
      expect(await commitAs(store(), userId, null, 2)).toEqual({ kind: 'committed' });
      await store().deleteRecord(userId);
      expect(await commitAs(store(), userId, null, 2)).toEqual({ kind: 'conflict' });
      expect(await store().getRecord(userId)).toBeNull();
      expect(await commitAs(store(), userId, null, 3)).toEqual({ kind: 'committed' });
    });

    it("gives a forgotten generation's recovery nothing of the next record", async () => {
      const { userId } = await enrolled(store());
      const old = startOf(userId, at(2000));
      expect(await store().startRecovery(old)).toMatchObject({ kind: 'started' });
      await store().deleteRecord(userId);
      expect(await commitAs(store(), userId, null, 2)).toEqual({ kind: 'committed' });
      const fresh = await harness().rawRecord(userId);

      expect(await store().takeRecovery(old.recoveryId, userId, at(2001))).toBeNull();
      await store().recordRightGuess(userId, 1, at(2002));
      await expect(store().recordWrongGuess(userId, 1, at(2003))).rejects.toMatchObject({
        code: 'RECOVERY_NOT_FOUND',
      });
      expect(await harness().rawRecord(userId)).toEqual(fresh);
    });
  });
}
