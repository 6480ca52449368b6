/**
 * The software OPAQUE peer (RFC 9807, `@serenity-kit/opaque`) served the way the vault is: an
 * express 5 app on one event loop in a process of its own (see support-measured-child.ts), with
 * the vault's JSON body parser and the vault's request-line middleware, so that the two compare
 * like for like. argv[2] is how many users it registers at start-up, argv[3] its log level.
 *
 *   POST /login/start   { userIdentifier, startLoginRequest } -> 201 { loginResponse, loginState }
 *   POST /login/finish  { loginState, finishLoginRequest }    -> 200 { sessionKey }
 *
 * The peer keeps no pending logins: the server's login state travels with the client, sealed
 * under a key of this process (AES-256-GCM), in the place of the vault's pending recovery.
 * That is what lets the load generator replay one prepared finish per user, as the raw peer
 * does; a deployed server would also bind an expiry to the state and refuse a second finish.
 * The session key is answered only so that the load generator can check it byte for byte.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, requestLog, type RequestLogLocals } from '@bkv/vault';
import * as opaque from '@serenity-kit/opaque';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  answerParent,
  forkMeasured,
  runAsChild,
  type MeasuredChild,
} from './support-measured-child';
import { logFile } from './support-log-file';
import { peerUser, registerPeerUser } from './support-opaque-users';

/** The peer in a child process. */
export type ChildPeer = { url: string } & MeasuredChild;

/** Forks this file as a peer with `users` registered users, logging at `level`. */
export function forkOpaquePeer(
  users: number,
  level: string,
  execArgv: string[] = [],
): Promise<ChildPeer> {
  return forkMeasured<{ url: string }>(__filename, [String(users), level], execArgv);
}

/** The registration records of users 0..count-1, client steps included (the peer's enrollment). */
function register(serverSetup: string, count: number): Map<string, string> {
  const records = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    records.set(peerUser(i).userIdentifier, registerPeerUser(serverSetup, i));
  }
  return records;
}

/** Seals the server's login state for the trip through the client, and opens it on return. */
function stateSeal() {
  const key = randomBytes(32);
  return {
    seal(state: string): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const sealed = Buffer.concat([iv, cipher.update(state, 'utf8'), cipher.final()]);
      return Buffer.concat([sealed, cipher.getAuthTag()]).toString('base64url');
    },
    open(sealed: string): string {
      const bytes = Buffer.from(sealed, 'base64url');
      if (bytes.length < 12 + 16) throw new Error('a login state too short');
      const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      const state = decipher.update(bytes.subarray(12, bytes.length - 16));
      return Buffer.concat([state, decipher.final()]).toString('utf8');
    },
  };
}

/** What the routes need; the setup and records are the server's secrets. */
interface PeerParts {
  serverSetup: string;
  records: Map<string, string>;
  logger: ReturnType<typeof createLogger>;
}

function createPeerApp({ serverSetup, records, logger }: PeerParts): express.Express {
  const seal = stateSeal();
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(requestLog(logger, { describe: (req, res) => ({ route: req.url, ...code(res) }) }));
  app.use(express.json({ limit: 4096, strict: true, type: 'application/json' }));

  // An unknown user gets a dummy answer from the library, so that no one learns who is enrolled.
  app.post('/login/start', (req, res) => {
    const { userIdentifier, startLoginRequest } = strings(req, [
      'userIdentifier',
      'startLoginRequest',
    ]);
    const { loginResponse, serverLoginState } = opaque.server.startLogin({
      serverSetup,
      registrationRecord: records.get(userIdentifier) ?? null,
      startLoginRequest,
      userIdentifier,
    });
    res.status(201).json({ loginResponse, loginState: seal.seal(serverLoginState) });
  });

  // finishLogin throws unless the client's MAC matches: a wrong password ends here.
  app.post('/login/finish', (req, res) => {
    const { loginState, finishLoginRequest } = strings(req, ['loginState', 'finishLoginRequest']);
    const { sessionKey } = opaque.server.finishLogin({
      serverLoginState: seal.open(loginState),
      finishLoginRequest,
    });
    res.json({ sessionKey });
  });

  app.use(refuse);
  return app;
}

/** The named string fields of the JSON body; anything else is refused like a failed login. */
function strings<Name extends string>(req: Request, names: Name[]): Record<Name, string> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  for (const name of names) {
    if (typeof body[name] !== 'string') throw new Error(`no string ${name}`);
  }
  return body as Record<Name, string>;
}

/** A malformed request and a failed login look the same from outside; the log keeps the cause. */
function refuse(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const status = (err as { status?: number }).status;
  (res.locals as RequestLogLocals).err = err;
  res.status(status !== undefined && status < 500 ? status : 401).json({ error: 'LOGIN_FAILED' });
}

const code = (res: { statusCode: number }) => ({
  code: res.statusCode < 400 ? 'OK' : 'LOGIN_FAILED',
});

async function serve(): Promise<void> {
  const users = Number(process.argv[2]);
  await opaque.ready;
  const serverSetup = opaque.server.createSetup();
  const records = register(serverSetup, users);

  // Lines go to a file, as the benchmark's vaults write theirs.
  const log = logFile('peer');
  const logger = createLogger(process.argv[3] ?? 'info', log.destination);
  const server = createPeerApp({ serverSetup, records, logger }).listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  await answerParent('peer', { url: `http://127.0.0.1:${port}` }, async () => {
    await stop(server);
    log.remove();
  });
}

function stop(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}

runAsChild(module, serve);
