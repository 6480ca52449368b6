/**
 * A real node:http server on 127.0.0.1 that answers each request with a canned reply and
 * records what it received. It lets the client's unit tests check the bytes it sends and how
 * it reads answers; it implements no part of the vault.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** Raw text instead of JSON, e.g. a proxy's HTML page. */
  text?: string;
  headers?: Record<string, string>;
}

export interface CannedServer {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** Starts a server that answers `${method} ${path}` with `replies[...]`, else 599. */
export async function cannedServer(replies: Record<string, Reply>): Promise<CannedServer> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = request.url ?? '';
      const method = request.method ?? '';
      received.push({
        method,
        path,
        headers: request.headers,
        body: raw ? JSON.parse(raw) : undefined,
      });

      const reply = replies[`${method} ${path}`] ?? { status: 599, text: 'no canned reply' };
      const text = reply.text ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
      response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      response.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
