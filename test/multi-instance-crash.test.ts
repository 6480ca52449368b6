/**
 * SIGKILL of a vault process in the middle of commits and recovery starts, while a second
 * process on the same PostgreSQL database and SoftHSM token carries on: every record is whole
 * (the version last acknowledged, or the one whose commit was cut), and no consumed guess is
 * given back (the counter is at least the evaluations the clients received).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { toBase64url } from '@bkv/protocol';
import { call, randomElement } from './support/http';
import {
  createScratchDatabase,
  describeWithDatabase,
  type ScratchDatabase,
} from './support/pg-database';
import { startVaultCluster, type VaultCluster } from './support/vault-cluster';

const COMMITTERS = ['c0', 'c1', 'c2', 'c3'];
const GUESSERS = ['g0', 'g1', 'g2', 'g3'];
const GUESS_LIMIT = 20;

/** What the clients saw of one user before and at the kill. */
interface Seen {
  acknowledged: { version: number; passphrase: string; key: Uint8Array } | null;
  /** The commit in flight when the process died, if any: its outcome is unknown. */
  cut: { passphrase: string; key: Uint8Array } | null;
  started: number;
  startCut: boolean;
}

describeWithDatabase('SIGKILL of one vault instance under load', (serverUrl) => {
  let database: ScratchDatabase;
  let cluster: VaultCluster;

  beforeAll(async () => {
    database = await createScratchDatabase(serverUrl);
    cluster = await startVaultCluster({
      instances: 2,
      store: { kind: 'postgres', url: database.url, poolSize: 6 },
      policy: {
        guessLimit: { default: 10, max: GUESS_LIMIT },
        backoff: { free: 1000, baseMs: 1000, capMs: 1000 },
      },
    });
  });

  afterAll(async () => {
    await cluster?.close();
    await database?.drop();
  });

  it('leaves every record whole and every consumed guess counted', async () => {
    const [victim, survivor] = cluster.urls as [string, string];
    const seen = new Map<string, Seen>();
    for (const user of [...COMMITTERS, ...GUESSERS]) {
      seen.set(user, { acknowledged: null, cut: null, started: 0, startCut: false });
    }
    for (const user of GUESSERS) {
      const client = await cluster.clientFor(user, survivor);
      await client.enroll(`${user} passphrase`, undefined, { guessLimit: GUESS_LIMIT });
    }

    let killed = false;
    const failuresBeforeKill: unknown[] = [];

    // Committers re-enroll again and again on the victim, each time with a known key.
    const commitLoop = async (user: string) => {
      const state = seen.get(user)!;
      const client = await cluster.clientFor(user, victim);
      for (let n = 1; !killed; n += 1) {
        const attempt = { passphrase: `${user} v${n}`, key: new Uint8Array(randomBytes(32)) };
        try {
          const result = await client.enroll(attempt.passphrase, attempt.key);
          state.acknowledged = { version: result.version, ...attempt };
        } catch (err) {
          if (!killed) failuresBeforeKill.push(err);
          state.cut = attempt;
          return;
        }
      }
    };

    // Guessers start recoveries on the victim; each 201 is an evaluation the client holds.
    const guessLoop = async (user: string) => {
      const state = seen.get(user)!;
      const token = await cluster.tokenFor(user);
      while (!killed && state.started < GUESS_LIMIT - 2) {
        try {
          const answer = await call(victim, 'POST', '/v1/recoveries', {
            token,
            json: { version: 1, blindedElement: randomElement() },
          });
          if (answer.status === 201) state.started += 1;
          else failuresBeforeKill.push(answer.body);
        } catch (err) {
          if (!killed) failuresBeforeKill.push(err);
          state.startCut = true;
          return;
        }
      }
    };

    const loops = [...COMMITTERS.map(commitLoop), ...GUESSERS.map(guessLoop)];
    // Kill once there is history on both sides, while requests are in flight.
    const progress = () =>
      [...seen.values()].filter((s) => s.acknowledged !== null || s.started > 2).length;
    while (progress() < COMMITTERS.length + GUESSERS.length) await sleep(20);
    await sleep(300);
    killed = true;
    await cluster.instances[0]!.kill();
    await Promise.all(loops);

    expect(failuresBeforeKill).toEqual([]);
    const interrupted = [...seen.values()].filter((s) => s.cut !== null || s.startCut).length;
    expect(interrupted).toBeGreaterThan(0);

    // No consumed guess is given back: the row counts at least what the clients received,
    // and at most one more per start that was cut (its outcome unknown to the client).
    for (const user of GUESSERS) {
      const state = seen.get(user)!;
      const [row] = await database.query<{ guesses_used: number; state: string }>(
        'SELECT guesses_used, state FROM records WHERE user_id = $1',
        [user],
      );
      expect(row?.state).toBe('active');
      expect(row!.guesses_used).toBeGreaterThanOrEqual(state.started);
      expect(row!.guesses_used).toBeLessThanOrEqual(state.started + (state.startCut ? 1 : 0));
    }

    // Every record is whole: the acknowledged version or the cut one, and it opens with the
    // passphrase and key of exactly that version, through the surviving instance.
    for (const user of COMMITTERS) {
      const state = seen.get(user)!;
      const acknowledged = state.acknowledged!;
      const client = await cluster.clientFor(user, survivor);
      const status = await client.status();
      expect(status?.state).toBe('active');
      const version = (status as { version: number }).version;
      expect([acknowledged.version, acknowledged.version + 1]).toContain(version);
      const expected = version === acknowledged.version ? acknowledged : state.cut!;
      const recovered = await client.recover(expected.passphrase);
      expect(recovered.version).toBe(version);
      expect(toBase64url(recovered.key)).toBe(toBase64url(expected.key));
    }
  });
});
