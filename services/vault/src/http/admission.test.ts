import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Admission, admitted } from './admission';

/** An app whose one route holds its admission until the test lets it go. */
async function holdingApp(admission: Admission) {
  const gates: Array<() => void> = [];
  const app = express();
  app.get(
    '/work',
    admitted(admission, async (_req, res) => {
      await new Promise<void>((resolve) => gates.push(resolve));
      res.json({ ok: true });
    }),
  );
  app.use((err: { code?: string }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.code === 'OVERLOADED' ? 503 : 500).json({ code: err.code });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/work`;
  return { url, gates, close: () => new Promise((resolve) => server.close(resolve)) };
}

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('admission', () => {
  it('refuses with OVERLOADED once the running and waiting places are taken', async () => {
    const admission = new Admission(1, 1);
    const first = await admission.enter();
    const second = admission.enter();
    await expect(admission.enter()).rejects.toMatchObject({ code: 'OVERLOADED' });
    first();
    (await second)();
  });

  it('gives back the place of a client that left while it waited', async () => {
    const admission = new Admission(1, 5);
    const app = await holdingApp(admission);
    try {
      const holder = fetch(app.url);
      await until(() => app.gates.length === 1);

      // A second client queues behind the first, then gives up.
      const gone = new AbortController();
      const waiting = fetch(app.url, { signal: gone.signal }).catch(() => 'aborted');
      await new Promise((resolve) => setTimeout(resolve, 50));
      gone.abort();
      expect(await waiting).toBe('aborted');
      // The server has seen it leave before its turn comes.
      await new Promise((resolve) => setTimeout(resolve, 50));

      app.gates.shift()!();
      expect((await holder).status).toBe(200);

      // Its place came back: a third client is admitted and served.
      const third = fetch(app.url);
      await until(() => app.gates.length === 1);
      app.gates.shift()!();
      expect((await third).status).toBe(200);
    } finally {
      app.gates.forEach((open) => open());
      await app.close();
    }
  }, 10_000);

  it('keeps the place of a client that left while its work runs, until the work ends', async () => {
    const admission = new Admission(1, 0);
    const app = await holdingApp(admission);
    try {
      const gone = new AbortController();
      const leaving = fetch(app.url, { signal: gone.signal }).catch(() => 'aborted');
      await until(() => app.gates.length === 1);
      gone.abort();
      expect(await leaving).toBe('aborted');
      await new Promise((resolve) => setTimeout(resolve, 50));

      // Its work still runs, so the one place is still taken.
      expect((await fetch(app.url)).status).toBe(503);
      app.gates.shift()!();
      await new Promise((resolve) => setTimeout(resolve, 50));

      const next = fetch(app.url);
      await until(() => app.gates.length === 1);
      app.gates.shift()!();
      expect((await next).status).toBe(200);
    } finally {
      app.gates.forEach((open) => open());
      await app.close();
    }
  }, 10_000);
});
