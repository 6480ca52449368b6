/**
 * One thread of the software peer: the server side of an OPAQUE login (RFC 9807) by
 * `@serenity-kit/opaque`, whose calls are synchronous WebAssembly and so run one at a time per
 * thread. Registrations and every client step are done before the clock starts; the timed loop
 * runs `server.startLogin` and `server.finishLogin` for each login and nothing else.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as opaque from '@serenity-kit/opaque';
import { percentile } from './support-load';
import { PEER_STRETCH, peerUser, registerPeerUser } from './support-opaque-users';

/** What the parent asks of this thread. */
export interface PeerWorkerData {
  users: number;
  seconds: number;
  warmupSeconds: number;
}

/** What this thread reports after its timed run. */
export interface PeerWorkerResult {
  completed: number;
  wallMs: number;
  p50Ms: number;
  p99Ms: number;
}

/** A finished login's pieces, so the server's two steps can be replayed in the timed loop. */
interface PreparedLogin {
  userIdentifier: string;
  registrationRecord: string;
  startLoginRequest: string;
  serverLoginState: string;
  finishLoginRequest: string;
  sessionKey: string;
}

function prepare(serverSetup: string, users: number): PreparedLogin[] {
  const logins: PreparedLogin[] = [];
  for (let i = 0; i < users; i++) {
    const { userIdentifier, password } = peerUser(i);
    // Registration, once per user (the peer's enrollment).
    const registrationRecord = registerPeerUser(serverSetup, i);

    // One full login whose messages the timed loop replays.
    const start = opaque.client.startLogin({ password });
    const { loginResponse, serverLoginState } = opaque.server.startLogin({
      serverSetup,
      registrationRecord,
      startLoginRequest: start.startLoginRequest,
      userIdentifier,
    });
    const finish = opaque.client.finishLogin({
      clientLoginState: start.clientLoginState,
      loginResponse,
      password,
      keyStretching: PEER_STRETCH,
    });
    if (finish === undefined) throw new Error('the peer refused its own login');
    logins.push({
      userIdentifier,
      registrationRecord,
      startLoginRequest: start.startLoginRequest,
      serverLoginState,
      finishLoginRequest: finish.finishLoginRequest,
      sessionKey: finish.sessionKey,
    });
  }
  return logins;
}

/**
 * The server's work of one login. `startLogin` runs in full (its answer is discarded, as the
 * matching client step was done beforehand); `finishLogin` checks the prepared client MAC
 * against the prepared state and must agree on the session key.
 */
function serverLogin(serverSetup: string, login: PreparedLogin): void {
  opaque.server.startLogin({
    serverSetup,
    registrationRecord: login.registrationRecord,
    startLoginRequest: login.startLoginRequest,
    userIdentifier: login.userIdentifier,
  });
  const { sessionKey } = opaque.server.finishLogin({
    serverLoginState: login.serverLoginState,
    finishLoginRequest: login.finishLoginRequest,
  });
  if (sessionKey !== login.sessionKey) throw new Error('the peer derived another session key');
}

function timed(serverSetup: string, logins: PreparedLogin[], seconds: number): PeerWorkerResult {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  for (let i = 0; performance.now() < end; i++) {
    const began = performance.now();
    serverLogin(serverSetup, logins[i % logins.length]!);
    latencies.push(performance.now() - began);
  }
  const wallMs = performance.now() - start;
  latencies.sort((a, b) => a - b);
  return {
    completed: latencies.length,
    wallMs,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

async function main(): Promise<void> {
  const data = workerData as PeerWorkerData;
  await opaque.ready;
  const serverSetup = opaque.server.createSetup();
  const logins = prepare(serverSetup, data.users);
  timed(serverSetup, logins, data.warmupSeconds);

  // All threads start together on the parent's word, so their timed runs overlap.
  parentPort!.postMessage('ready');
  parentPort!.once('message', () => {
    parentPort!.postMessage(timed(serverSetup, logins, data.seconds));
  });
}

main().catch((err: unknown) => {
  throw err;
});
