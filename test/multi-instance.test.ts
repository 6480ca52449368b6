/**
 * Three vault processes (the built `bkv vault start`) on different loopback ports, sharing one
 * PostgreSQL database and one SoftHSM token: the guess budget holds across instances, and a
 * recovery started on one instance finishes on another.
 */
import { toBase64url } from '@bkv/protocol';
import { hsmOperations } from './support/cluster-metrics';
import { call, randomElement, type Answer } from './support/http';
import {
  createScratchDatabase,
  describeWithDatabase,
  type ScratchDatabase,
} from './support/pg-database';
import { startVaultCluster, type VaultCluster } from './support/vault-cluster';

const STARTS = 300;

describeWithDatabase('three vault instances on one database', (serverUrl) => {
  let database: ScratchDatabase;
  let cluster: VaultCluster;

  beforeAll(async () => {
    database = await createScratchDatabase(serverUrl);
    cluster = await startVaultCluster({
      instances: 3,
      store: { kind: 'postgres', url: database.url, poolSize: 8 },
      // No backoff: the budget alone must stop the racing starts.
      policy: { backoff: { free: 1000, baseMs: 1000, capMs: 1000 } },
    });
  });

  afterAll(async () => {
    await cluster?.close();
    await database?.drop();
  });

  it('evaluates at most the 10 guesses left for 300 starts across three instances', async () => {
    const client = await cluster.clientFor('target', cluster.urls[0]!);
    await client.enroll('the real passphrase', undefined, { guessLimit: 10 });
    const token = await cluster.tokenFor('target');
    const evaluatedBefore = await hsmOperations(cluster.urls, 'evaluateOprf');

    const answers: Answer[] = await Promise.all(
      Array.from({ length: STARTS }, (_, i) =>
        call(cluster.urls[i % 3]!, 'POST', '/v1/recoveries', {
          token,
          json: { version: 1, blindedElement: randomElement() },
        }),
      ),
    );

    // Each 201 carries an evaluation. Every other start was refused without an evaluation:
    // for want of guesses, or (a start whose clock read came a hair before another's update)
    // as too soon, which consumes nothing either.
    const started = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status !== 201);
    expect(started.length).toBeGreaterThan(0);
    expect(started.length).toBeLessThanOrEqual(10);
    const refusals = new Set(refused.map((a) => `${a.status} ${a.body.error.code}`));
    expect(refusals).toContain('410 LOCKED_OUT');
    for (const refusal of refusals)
      expect(['410 LOCKED_OUT', '429 RATE_LIMITED']).toContain(refusal);
    const evaluated = (await hsmOperations(cluster.urls, 'evaluateOprf')) - evaluatedBefore;
    expect(evaluated).toBe(started.length);

    // The counter equals the guesses that were answered; the last refusal destroyed the record.
    const [row] = await database.query<{ guesses_used: number; state: string }>(
      'SELECT guesses_used, state, sealed FROM records WHERE user_id = $1',
      ['target'],
    );
    expect(row).toMatchObject({ guesses_used: started.length, state: 'locked', sealed: null });
  });

  it('finishes on one instance a recovery that another instance started', async () => {
    const enrolled = await (
      await cluster.clientFor('roamer', cluster.urls[0]!)
    ).enroll('roaming passphrase');

    // Starts go to the second instance, finishes to the third.
    const seen: string[] = [];
    const routed: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input.toString());
      const target = url.pathname.endsWith('/finish') ? cluster.urls[2]! : cluster.urls[1]!;
      const rewritten = `${target}${url.pathname}${url.search}`;
      seen.push(`${init?.method ?? 'GET'} ${rewritten}`);
      return fetch(rewritten, init);
    };
    const client = await cluster.clientFor('roamer', cluster.urls[0]!, routed);
    const recovered = await client.recover('roaming passphrase');

    expect(toBase64url(recovered.key)).toBe(toBase64url(enrolled.key));
    expect(seen).toContainEqual(`POST ${cluster.urls[1]}/v1/recoveries`);
    expect(seen.some((s) => s.startsWith(`POST ${cluster.urls[2]}/v1/recoveries/`))).toBe(true);
  });
});
