/**
 * The contract every `Store` implementation passes. Each implementation's test file builds a
 * harness (a migrated store on a fresh database, a way to read raw rows, a way to race
 * starts the way several processes would) and calls `storeContract`.
 */
import { BkvError } from '@bkv/protocol';

import { generationsContract } from './generations.contract';
import { recoveryContract } from './recovery.contract';
import type { Row } from './rows';
import { at, enrolled, enrollmentFor, newUserId, recordFrom, startOf } from './store-fixtures';
import type { StartOutcome, StartRecovery, Store } from './store';

export interface StoreHarness {
  /** A migrated store on a database of its own, shared by the tests of one file. */
  store: Store;
  /** The `records` row as the database holds it, read around the store. */
  rawRecord(userId: string): Promise<Row | undefined>;
  /** Runs all starts at once, racing as several vault instances would. */
  raceStarts(starts: StartRecovery[]): Promise<StartOutcome[]>;
}

/** Registers the contract's tests; `harness()` is called once the file's beforeAll has run. */
export function storeContract(harness: () => StoreHarness): void {
  const store = () => harness().store;

  describe('schema', () => {
    it('migrates again without changing anything', async () => {
      const { userId } = await enrolled(store());
      await store().migrate();
      await store().migrate();
      expect(await store().getRecord(userId)).toMatchObject({ state: 'active', version: 1 });
    });

    it('answers a ping', async () => {
      await expect(store().ping()).resolves.toBeUndefined();
    });
  });

  describe('enrollments', () => {
    it('returns a stored enrollment to its user until it expires', async () => {
      const enrollment = enrollmentFor(newUserId(), 10, at(5000));
      await store().putEnrollment(enrollment);
      expect(await store().getEnrollment(enrollment.id, enrollment.userId, at(4999))).toEqual(
        enrollment,
      );
      expect(await store().getEnrollment(enrollment.id, 'someone-else', at(0))).toBeNull();
      expect(await store().getEnrollment(enrollment.id, enrollment.userId, at(5000))).toBeNull();
      expect(await store().getEnrollment('enr-unknown', enrollment.userId, at(0))).toBeNull();
    });

    it('creates the first record with a full budget', async () => {
      const { userId, record } = await enrolled(store(), 7);
      expect(await store().getRecord(userId)).toEqual({
        ...record,
        state: 'active',
        guessesUsed: 0,
        failuresInRow: 0,
        nextAttemptAt: null,
        createdAt: at(1000),
        updatedAt: at(1000),
      });
    });

    it('uses an enrollment once', async () => {
      const enrollment = enrollmentFor(newUserId());
      await store().putEnrollment(enrollment);
      const record = recordFrom(enrollment, 1);
      expect(await store().commitEnrollment(enrollment.id, null, record, at(1))).toEqual({
        kind: 'committed',
      });
      const again = await store().commitEnrollment(
        enrollment.id,
        1,
        recordFrom(enrollment, 2),
        at(2),
      );
      expect(again).toEqual({ kind: 'enrollment_not_found' });
      expect(await store().getEnrollment(enrollment.id, enrollment.userId, at(2))).toBeNull();
    });

    it("refuses another user's enrollment and an expired one", async () => {
      const enrollment = enrollmentFor(newUserId(), 10, at(5000));
      await store().putEnrollment(enrollment);
      const stranger = { ...recordFrom(enrollment, 1), userId: newUserId() };
      expect(await store().commitEnrollment(enrollment.id, null, stranger, at(1))).toEqual({
        kind: 'enrollment_not_found',
      });
      const late = await store().commitEnrollment(
        enrollment.id,
        null,
        recordFrom(enrollment, 1),
        at(5000),
      );
      expect(late).toEqual({ kind: 'enrollment_not_found' });
      expect(await store().getRecord(enrollment.userId)).toBeNull();
      expect(await store().getRecord(stranger.userId)).toBeNull();
    });

    it('replaces the record, bumps the version and drops pending recoveries', async () => {
      const { userId } = await enrolled(store());
      const started = startOf(userId, at(2000));
      await store().startRecovery(started);

      const next = enrollmentFor(userId, 5);
      await store().putEnrollment(next);
      const record = recordFrom(next, 2);
      expect(await store().commitEnrollment(next.id, 1, record, at(3000))).toEqual({
        kind: 'committed',
      });
      expect(await store().getRecord(userId)).toEqual({
        ...record,
        state: 'active',
        guessesUsed: 0,
        failuresInRow: 0,
        nextAttemptAt: null,
        createdAt: at(3000),
        updatedAt: at(3000),
      });
      expect(await store().takeRecovery(started.recoveryId, userId, at(3001))).toBeNull();
    });

    it('answers conflict on a stale version and keeps the enrollment for a retry', async () => {
      const { userId, record: first } = await enrolled(store());
      const next = enrollmentFor(userId);
      await store().putEnrollment(next);

      expect(await store().commitEnrollment(next.id, null, recordFrom(next, 1), at(2))).toEqual({
        kind: 'conflict',
      });
      expect(await store().commitEnrollment(next.id, 3, recordFrom(next, 4), at(2))).toEqual({
        kind: 'conflict',
      });
      expect(await store().getRecord(userId)).toMatchObject({ version: 1, sealed: first.sealed });
      expect(await store().getEnrollment(next.id, userId, at(2))).not.toBeNull();
      expect(await store().commitEnrollment(next.id, 1, recordFrom(next, 2), at(3))).toEqual({
        kind: 'committed',
      });
    });

    it('replaces a locked record when the user enrolls again', async () => {
      const { userId } = await enrolled(store(), 1);
      await store().startRecovery(startOf(userId, at(2000)));
      await store().startRecovery(startOf(userId, at(2001)));
      expect(await store().getRecord(userId)).toMatchObject({ state: 'locked', version: 1 });

      const next = enrollmentFor(userId);
      await store().putEnrollment(next);
      expect(await store().commitEnrollment(next.id, 1, recordFrom(next, 2), at(3000))).toEqual({
        kind: 'committed',
      });
      expect(await store().getRecord(userId)).toMatchObject({ state: 'active', version: 2 });
    });
  });

  describe('deleting', () => {
    it("deletes the user's record and pending work, and says when there was none", async () => {
      const { userId } = await enrolled(store());
      const started = startOf(userId, at(2000));
      await store().startRecovery(started);
      const pending = enrollmentFor(userId);
      await store().putEnrollment(pending);

      expect(await store().deleteRecord(userId)).toBe(true);
      expect(await store().getRecord(userId)).toBeNull();
      expect(await store().takeRecovery(started.recoveryId, userId, at(2001))).toBeNull();
      expect(await store().getEnrollment(pending.id, userId, at(2001))).toBeNull();
      expect(await store().deleteRecord(userId)).toBe(false);
    });

    it('purges expired enrollments and recoveries only', async () => {
      const { userId } = await enrolled(store());
      const expiring = startOf(userId, at(10_000));
      const lasting = startOf(userId, at(10_000));
      lasting.expiresAt = at(10_000_000_000);
      await store().startRecovery(expiring);
      await store().startRecovery(lasting);
      await store().putEnrollment(enrollmentFor(userId, 10, at(20_000)));
      const kept = enrollmentFor(userId, 10, at(10_000_000_000));
      await store().putEnrollment(kept);

      // Other tests' pending work expires too, so count at least ours.
      expect(await store().purgeExpired(at(1_000_000))).toBeGreaterThanOrEqual(2);
      expect(await store().purgeExpired(at(1_000_000))).toBe(0);
      expect(await store().getEnrollment(kept.id, userId, at(1_000_000))).not.toBeNull();
      expect(await store().takeRecovery(lasting.recoveryId, userId, at(1_000_000))).not.toBeNull();
    });
  });

  describe('bad input', () => {
    it('refuses malformed arguments before any row changes', async () => {
      const { userId, record } = await enrolled(store(), 3);
      const before = await harness().rawRecord(userId);
      const good = startOf(userId, at(2000));
      const bad: StartRecovery[] = [
        { ...good, version: 1.5 },
        { ...good, now: new Date(Number.NaN) },
        { ...good, recoveryId: '' },
        { ...good, backoff: { free: -1, baseMs: 10, capMs: 100 } },
        { ...good, backoff: { free: 0, baseMs: 100, capMs: 10 } },
      ];
      for (const start of bad) {
        await expect(store().startRecovery(start)).rejects.toMatchObject({
          code: 'INVALID_REQUEST',
        });
      }
      const next = enrollmentFor(userId);
      await store().putEnrollment(next);
      const stale = recordFrom(next, 1);
      await expect(store().commitEnrollment(next.id, 1, stale, at(3))).rejects.toBeInstanceOf(
        BkvError,
      );
      const noSalt = { ...recordFrom(next, 2), salt: new Uint8Array(0) };
      await expect(store().commitEnrollment(next.id, 1, noSalt, at(3))).rejects.toBeInstanceOf(
        BkvError,
      );
      await expect(store().recordWrongGuess(userId, 0, at(3))).rejects.toBeInstanceOf(BkvError);

      expect(await harness().rawRecord(userId)).toEqual(before);
      expect(await store().getRecord(userId)).toMatchObject({ sealed: record.sealed });
      expect(await store().getEnrollment(next.id, userId, at(3))).not.toBeNull();
    });
  });

  recoveryContract(harness);
  generationsContract(harness);
}
