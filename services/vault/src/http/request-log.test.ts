/**
 * The request line, on a small express app served over a real socket: one line per answered
 * request with its fields, failures at error level with their cause, no line for quiet URLs, a
 * line for a request whose client went away, and the request id on the use cases' lines too.
 * The whole vault's lines are checked for secrets in test/log-secrecy.e2e.test.ts.
 */
import type { AddressInfo } from 'node:net';
import { request, type Server } from 'node:http';
import { Writable } from 'node:stream';
import express from 'express';
import { createLogger } from '../logger';
import { requestLog, type RequestLogLocals } from './request-log';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  [field: string]: unknown;
}

let server: Server;
let base: string;
const lines: Line[] = [];
/** Resolves the next time a line is written. */
let onLine: () => void = () => undefined;
/** Called when a request reaches the route that never answers. */
let reachedSlow: () => void = () => undefined;

beforeAll(async () => {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) {
        lines.push(JSON.parse(text) as Line);
      }
      onLine();
      done();
    },
  });
  const app = express();
  app.use(
    requestLog(createLogger('info', destination), {
      describe: (req, res) => ({ route: req.path, code: res.statusCode < 400 ? 'OK' : 'FAILED' }),
      quietUrls: ['/healthz'],
    }),
  );
  app.use(express.json());
  app.get('/healthz', (_req, res) => {
    (res.locals as RequestLogLocals).log.info('probe answered');
    res.json({ status: 'ok' });
  });
  app.post('/work', (_req, res) => {
    (res.locals as RequestLogLocals).log.info({ step: 'inside' }, 'use case line');
    res.status(201).json({ done: true });
  });
  app.get('/broken', (req, res) => {
    const { cause } = req.query;
    if (typeof cause === 'string') (res.locals as RequestLogLocals).err = new Error(cause);
    res.status(Number(req.query.status)).json({ error: 'refused' });
  });
  // Never answers: the client gives up.
  app.get('/slow', () => reachedSlow());
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  lines.length = 0;
});

/**
 * Waits until `count` lines have been written (a line follows the answer by a tick or so), then
 * a little longer, so that a line written twice would show.
 */
async function linesAfter(count: number): Promise<Line[]> {
  while (lines.length < count) await new Promise<void>((resolve) => (onLine = resolve));
  await new Promise((resolve) => setTimeout(resolve, 20));
  return [...lines];
}

const requestLines = (written: Line[]) => written.filter((line) => line.req !== undefined);

describe('the request line', () => {
  it('names the request, its status, latency and outcome, never headers or body', async () => {
    const answer = await fetch(`${base}/work`, {
      method: 'POST',
      headers: { authorization: 'Bearer secret-token-value', 'content-type': 'application/json' },
      body: JSON.stringify({ passphrase: 'body-secret-value' }),
    });
    const written = await linesAfter(2);
    const [inside, line] = written;

    expect(written).toHaveLength(2);
    expect(answer.status).toBe(201);
    const id = answer.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(line).toMatchObject({
      level: 30,
      msg: 'request completed',
      reqId: id,
      req: { id, method: 'POST' },
      res: { statusCode: 201 },
      route: '/work',
      code: 'OK',
    });
    expect(typeof line!.responseTime).toBe('number');
    expect(line).not.toHaveProperty('aborted');
    // The use case's own line carries the same id.
    expect(inside).toMatchObject({ msg: 'use case line', reqId: id, step: 'inside' });
    const text = JSON.stringify(lines);
    expect(text).not.toContain('secret-token-value');
    expect(text).not.toContain('body-secret-value');
  });

  it("keeps a caller's request id that looks like one and replaces one that does not", async () => {
    const kept = await fetch(`${base}/work`, {
      method: 'POST',
      headers: { 'x-request-id': 'trace-7' },
    });
    const replaced = await fetch(`${base}/work`, {
      method: 'POST',
      headers: { 'x-request-id': 'not an id!' },
    });
    const written = await linesAfter(4);

    expect(kept.headers.get('x-request-id')).toBe('trace-7');
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const ids = requestLines(written).map((l) => l.reqId);
    expect(ids).toEqual(['trace-7', replaced.headers.get('x-request-id')]);
  });

  it('logs a server-side failure at error level, with its cause when there is one', async () => {
    await fetch(`${base}/broken?status=503&cause=the+store+went+away`);
    await fetch(`${base}/broken?status=500`);
    const [withCause, without] = await linesAfter(2);

    expect(withCause).toMatchObject({
      level: 50,
      msg: 'request failed',
      res: { statusCode: 503 },
      code: 'FAILED',
      err: { message: 'the store went away' },
    });
    expect(without).toMatchObject({ level: 50, msg: 'request failed', res: { statusCode: 500 } });
    expect(without).not.toHaveProperty('err');
  });

  it('logs a refusal with a cause as failed, at info level', async () => {
    await fetch(`${base}/broken?status=401&cause=bad+login`);
    await fetch(`${base}/broken?status=404`);
    const [refused, plain] = await linesAfter(2);

    expect(refused).toMatchObject({
      level: 30,
      msg: 'request failed',
      err: { message: 'bad login' },
    });
    expect(plain).toMatchObject({ level: 30, msg: 'request completed', res: { statusCode: 404 } });
  });

  it('writes no line for a quiet URL, whose own lines still carry its request id', async () => {
    const probe = await fetch(`${base}/healthz`);
    await fetch(`${base}/work`, { method: 'POST' });
    const written = await linesAfter(3);

    const id = probe.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(written.map((l) => l.msg)).toEqual([
      'probe answered',
      'use case line',
      'request completed',
    ]);
    expect(written[0]!.reqId).toBe(id);
    expect(requestLines(written).map((l) => l.route)).toEqual(['/work']);
  });

  it('writes one line for a request whose client went away before the answer', async () => {
    const reached = new Promise<void>((resolve) => (reachedSlow = resolve));
    const gone = request(`${base}/slow`);
    gone.on('error', () => undefined);
    gone.end();
    await reached;
    gone.destroy();
    const written = await linesAfter(1);

    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      level: 30,
      msg: 'request aborted',
      route: '/slow',
      aborted: true,
    });
  });
});
