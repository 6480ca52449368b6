/**
 * The guess-accounting half of the store contract: starts, finishes, backoff, destruction
 * and the race of many starts (protocol.md, "Guess accounting", invariants 1 to 4 and 6).
 */
import { backoffDelayMs } from './backoff';
import { at, enrolled, newUserId, startOf } from './store-fixtures';
import type { StoreHarness } from './store.contract';
import type { BackoffPolicy } from './store';

/** Columns that must be gone from a destroyed record's row. */
const KEY_MATERIAL = ['salt', 'oprf_public_key', 'wrapped_oprf_key', 'sealed'];

export function recoveryContract(harness: () => StoreHarness): void {
  const store = () => harness().store;

  /** Proves destruction on the raw row: state locked and every key column NULL. */
  async function expectDestroyed(userId: string): Promise<void> {
    const row = await harness().rawRecord(userId);
    expect(row).toMatchObject({ state: 'locked' });
    for (const column of KEY_MATERIAL) expect(row?.[column]).toBeNull();
  }

  describe('starting a recovery', () => {
    it('consumes a guess before answering started', async () => {
      const { userId, record } = await enrolled(store(), 10);
      const outcome = await store().startRecovery(startOf(userId, at(2000)));
      expect(outcome).toEqual({
        kind: 'started',
        guessesRemaining: 9,
        oprfPublicKey: record.oprfPublicKey,
        wrappedOprfKey: record.wrappedOprfKey,
        wrapKeyId: record.wrapKeyId,
      });
      expect(await harness().rawRecord(userId)).toMatchObject({ guesses_used: 1 });
      expect(await store().getRecord(userId)).toMatchObject({ guessesUsed: 1, failuresInRow: 1 });
    });

    it('tells a missing record and a stale version apart, consuming nothing', async () => {
      expect(await store().startRecovery(startOf(newUserId(), at(2000)))).toEqual({
        kind: 'no_record',
      });
      const { userId } = await enrolled(store());
      const stale = startOf(userId, at(2000), undefined, 2);
      expect(await store().startRecovery(stale)).toEqual({ kind: 'version_mismatch', version: 1 });
      expect(await store().getRecord(userId)).toMatchObject({ guessesUsed: 0 });
    });

    it('gives back the guess when the pending recovery cannot be written', async () => {
      const { userId } = await enrolled(store());
      const first = startOf(userId, at(2000));
      await store().startRecovery(first);
      const duplicate = { ...startOf(userId, at(2001)), recoveryId: first.recoveryId };
      await expect(store().startRecovery(duplicate)).rejects.toMatchObject({ code: 'INTERNAL' });
      expect(await store().getRecord(userId)).toMatchObject({ guessesUsed: 1 });
    });

    it('destroys the record on a start with no guess left', async () => {
      const { userId } = await enrolled(store(), 2);
      const first = startOf(userId, at(2000));
      await store().startRecovery(first);
      await store().startRecovery(startOf(userId, at(2001)));

      const outcome = await store().startRecovery(startOf(userId, at(2002)));
      expect(outcome).toEqual({ kind: 'locked', lockedAt: at(2002), destroyedNow: true });
      await expectDestroyed(userId);
      expect(await store().getRecord(userId)).toEqual({
        state: 'locked',
        userId,
        version: 1,
        lockedAt: at(2002),
      });
      expect(await store().takeRecovery(first.recoveryId, userId, at(2003))).toBeNull();
      expect(await store().startRecovery(startOf(userId, at(2004)))).toEqual({
        kind: 'locked',
        lockedAt: at(2002),
        destroyedNow: false,
      });
    });
  });

  describe('backoff', () => {
    const policy: BackoffPolicy = { free: 2, baseMs: 1000, capMs: 5000 };

    it('lets the free failures through, then waits, doubling up to the cap', async () => {
      const { userId } = await enrolled(store(), 20);
      let now = at(2000);
      const waits: number[] = [];
      for (let failures = 1; failures <= 7; failures += 1) {
        expect(await store().startRecovery(startOf(userId, now, policy))).toMatchObject({
          kind: 'started',
        });
        const record = await store().getRecord(userId);
        const next = record?.state === 'active' ? record.nextAttemptAt : null;
        const wait = (next?.getTime() ?? now.getTime()) - now.getTime();
        waits.push(wait);
        now = new Date(now.getTime() + wait);
      }
      expect(waits).toEqual([0, 0, 1000, 2000, 4000, 5000, 5000]);
      expect(waits).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(policy, n)));
    });

    it('answers retryAt during the wait and consumes nothing', async () => {
      const { userId } = await enrolled(store(), 20);
      const strict: BackoffPolicy = { free: 0, baseMs: 1000, capMs: 5000 };
      await store().startRecovery(startOf(userId, at(2000), strict));

      expect(await store().startRecovery(startOf(userId, at(2999), strict))).toEqual({
        kind: 'backoff',
        retryAt: at(3000),
      });
      expect(await store().getRecord(userId)).toMatchObject({ guessesUsed: 1, failuresInRow: 1 });
      expect(await store().startRecovery(startOf(userId, at(3000), strict))).toMatchObject({
        kind: 'started',
      });
    });
  });

  describe('finishing a recovery', () => {
    it('hands out the sealed payload once, to its user, before it expires', async () => {
      const { userId, record } = await enrolled(store());
      const start = startOf(userId, at(2000));
      await store().startRecovery(start);

      expect(await store().takeRecovery(start.recoveryId, 'someone-else', at(2001))).toBeNull();
      expect(await store().takeRecovery(start.recoveryId, userId, start.expiresAt)).toBeNull();
      expect(await store().takeRecovery(start.recoveryId, userId, at(2001))).toEqual({
        userId,
        version: 1,
        sealed: record.sealed,
      });
      expect(await store().takeRecovery(start.recoveryId, userId, at(2002))).toBeNull();
    });

    it('shows what a take would hand out, without taking it', async () => {
      const { userId, record } = await enrolled(store());
      const start = startOf(userId, at(2000));
      await store().startRecovery(start);
      const seen = { userId, version: 1, sealed: record.sealed };

      expect(await store().peekRecovery(start.recoveryId, 'someone-else', at(2001))).toBeNull();
      expect(await store().peekRecovery(start.recoveryId, userId, start.expiresAt)).toBeNull();
      expect(await store().peekRecovery(start.recoveryId, userId, at(2001))).toEqual(seen);
      expect(await store().peekRecovery(start.recoveryId, userId, at(2001))).toEqual(seen);
      expect(await store().takeRecovery(start.recoveryId, userId, at(2001))).toEqual(seen);
      expect(await store().peekRecovery(start.recoveryId, userId, at(2002))).toBeNull();

      const again = startOf(userId, at(3000));
      await store().startRecovery(again);
      await store().deleteRecord(userId);
      await enrolled(store(), 10, userId);
      expect(await store().peekRecovery(again.recoveryId, userId, at(3001))).toBeNull();
    });

    it('refuses a recovery whose record has changed version', async () => {
      const { userId } = await enrolled(store());
      const start = startOf(userId, at(2000));
      await store().startRecovery(start);
      await store().deleteRecord(userId);
      await enrolled(store(), 10, userId);
      expect(await store().takeRecovery(start.recoveryId, userId, at(2001))).toBeNull();
    });

    it('resets the budget and the backoff on the right passphrase', async () => {
      const { userId } = await enrolled(store(), 5);
      const policy: BackoffPolicy = { free: 0, baseMs: 1000, capMs: 5000 };
      const start = startOf(userId, at(2000), policy);
      await store().startRecovery(start);
      await store().takeRecovery(start.recoveryId, userId, at(2001));

      await store().recordRightGuess(userId, 1, at(2002));
      expect(await store().getRecord(userId)).toMatchObject({
        guessesUsed: 0,
        failuresInRow: 0,
        nextAttemptAt: null,
        updatedAt: at(2002),
      });
    });

    it('keeps counting the guesses of other starts still pending at a reset', async () => {
      const { userId } = await enrolled(store(), 5);
      const mine = startOf(userId, at(2000));
      await store().startRecovery(mine);
      await store().startRecovery(startOf(userId, at(2000)));
      await store().takeRecovery(mine.recoveryId, userId, at(2001));

      await store().recordRightGuess(userId, 1, at(2002));
      expect(await store().getRecord(userId)).toMatchObject({ guessesUsed: 1, failuresInRow: 0 });
    });

    it('counts a wrong passphrase without consuming a second guess', async () => {
      const { userId } = await enrolled(store(), 3);
      await store().startRecovery(startOf(userId, at(2000)));
      expect(await store().recordWrongGuess(userId, 1, at(2001))).toEqual({
        kind: 'counted',
        guessesRemaining: 2,
      });
    });

    it('destroys the record on a wrong passphrase that used the last guess', async () => {
      const { userId } = await enrolled(store(), 1);
      const start = startOf(userId, at(2000));
      expect(await store().startRecovery(start)).toMatchObject({ guessesRemaining: 0 });
      expect(await store().takeRecovery(start.recoveryId, userId, at(2001))).not.toBeNull();

      expect(await store().recordWrongGuess(userId, 1, at(2002))).toEqual({
        kind: 'locked',
        lockedAt: at(2002),
        destroyedNow: true,
      });
      await expectDestroyed(userId);
      expect(await store().recordWrongGuess(userId, 1, at(2003))).toEqual({
        kind: 'locked',
        lockedAt: at(2002),
        destroyedNow: false,
      });
    });

    it('refuses a wrong passphrase for a record that is gone', async () => {
      const { userId } = await enrolled(store());
      await store().startRecovery(startOf(userId, at(2000)));
      await store().deleteRecord(userId);
      await expect(store().recordWrongGuess(userId, 1, at(2001))).rejects.toMatchObject({
        code: 'RECOVERY_NOT_FOUND',
      });
    });
  });

  describe('concurrency', () => {
    it('never starts more recoveries than guesses left, however many race', async () => {
      const { userId } = await enrolled(store(), 15);
      for (let i = 0; i < 5; i += 1) await store().startRecovery(startOf(userId, at(2000)));

      const starts = Array.from({ length: 100 }, () => startOf(userId, at(3000)));
      const began = process.hrtime.bigint();
      const outcomes = await harness().raceStarts(starts);
      const ms = Number(process.hrtime.bigint() - began) / 1e6;
      const started = outcomes.filter((o) => o.kind === 'started').length;
      console.info(`100 racing starts: ${started} started in ${ms.toFixed(0)} ms`);

      expect(outcomes).toHaveLength(100);
      expect(started).toBe(10);
      expect(outcomes.every((o) => o.kind === 'started' || o.kind === 'locked')).toBe(true);
      expect(outcomes.filter((o) => o.kind === 'locked' && o.destroyedNow)).toHaveLength(1);
      expect(await harness().rawRecord(userId)).toMatchObject({ guesses_used: 5 + started });
      await expectDestroyed(userId);
    });

    it('lets every racing start through when there are guesses for all', async () => {
      const { userId } = await enrolled(store(), 40);
      const starts = Array.from({ length: 40 }, () => startOf(userId, at(3000)));
      const outcomes = await harness().raceStarts(starts);
      const remaining = outcomes.map((o) => (o.kind === 'started' ? o.guessesRemaining : -1));
      expect(remaining.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(await store().getRecord(userId)).toMatchObject({ state: 'active', guessesUsed: 40 });
    });
  });
}
