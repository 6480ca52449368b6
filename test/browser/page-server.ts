/**
 * A loopback HTTP server for one web page and its script: the web app's origin, which is
 * another origin than the vault's (another port), so the browser applies CORS to its calls.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PageServer {
  /** `http://127.0.0.1:<port>`, as the browser sends it in `Origin`. */
  origin: string;
  close(): Promise<void>;
}

/** Serves an empty page at `/` that loads `script` from `/app.js`. */
export async function servePage(script: string): Promise<PageServer> {
  const html =
    '<!doctype html><meta charset="utf-8"><title>bkv</title><script src="/app.js"></script>';
  const server = createServer((request, response) => {
    const [type, body] =
      request.url === '/app.js' ? ['text/javascript', script] : ['text/html', html];
    if (request.url !== '/' && request.url !== '/app.js') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': `${type}; charset=utf-8` }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
