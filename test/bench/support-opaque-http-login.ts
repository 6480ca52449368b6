/**
 * Logins to the OPAQUE peer over HTTP (support-opaque-http-peer.ts) with the client's work taken
 * out of the loop, as support-http-recovery.ts does for the vault. Each user logs in once through
 * `fetch`, untimed: the client's `startLogin`, the peer's start, the client's `finishLogin`
 * (key stretching, 3DH) and the peer's finish. The timed loop then replays that login's two
 * requests through the lean client, so the peer does its full server work while the load
 * generator does no elliptic-curve work.
 *
 * One start request per user, reused, is valid for the server's work: `server.startLogin`
 * validates the client's points, evaluates the OPRF and runs its half of the 3DH with fresh
 * nonce and ephemeral key at every call, whatever the request, and caches nothing across calls.
 * Its answer is fresh at every call too, so the loop checks its shape (status, both fields, of
 * the prepared lengths) and drops it, as the raw peer drops its own; the finish replays the
 * prepared login's sealed state and MAC, and the session key it answers is checked byte for byte.
 */
import * as opaque from '@serenity-kit/opaque';
import { expectJson, fetchJson, PreparedPost, type HttpConnection } from './support-http-client';
import { PEER_STRETCH, peerUser } from './support-opaque-users';

/** What the timed loop needs for one user's login; all of it computed before the clock starts. */
export interface PreparedLogin {
  start: PreparedPost;
  finish: PreparedPost;
  loginResponseLength: number;
  loginStateLength: number;
  expectedSessionKey: string;
}

/** Logs users 0..count-1 in once each at the peer on `url` and prepares their timed logins. */
export async function prepareLogins(url: string, count: number): Promise<PreparedLogin[]> {
  await opaque.ready;
  const logins: PreparedLogin[] = [];
  for (let i = 0; i < count; i++) logins.push(await prepareLogin(url, i));
  return logins;
}

async function prepareLogin(url: string, i: number): Promise<PreparedLogin> {
  const { userIdentifier, password } = peerUser(i);
  const { clientLoginState, startLoginRequest } = opaque.client.startLogin({ password });
  const startBody = JSON.stringify({ userIdentifier, startLoginRequest });
  const started = await fetchJson(url, '/login/start', startBody, 201);
  const loginResponse = started.loginResponse as string;
  const loginState = started.loginState as string;

  // The client's half, once: it proves the password and yields the session key to expect.
  const finished = opaque.client.finishLogin({
    clientLoginState,
    loginResponse,
    password,
    keyStretching: PEER_STRETCH,
  });
  if (finished === undefined) throw new Error('the client refused the peer');
  const finishBody = JSON.stringify({
    loginState,
    finishLoginRequest: finished.finishLoginRequest,
  });
  const answer = await fetchJson(url, '/login/finish', finishBody, 200);
  if (answer.sessionKey !== finished.sessionKey) throw new Error('the peer derived another key');

  return {
    start: new PreparedPost(url, '/login/start', startBody),
    finish: new PreparedPost(url, '/login/finish', finishBody),
    loginResponseLength: loginResponse.length,
    loginStateLength: loginState.length,
    expectedSessionKey: finished.sessionKey,
  };
}

/**
 * One full login on `connection`: start, then the prepared finish. Throws on any other answer,
 * so a refused login is never counted.
 */
export async function loginOnce(connection: HttpConnection, login: PreparedLogin): Promise<void> {
  const started = expectJson(await connection.send(login.start.bytes()), 201, 'POST /login/start');
  if (
    (started.loginResponse as string | undefined)?.length !== login.loginResponseLength ||
    (started.loginState as string | undefined)?.length !== login.loginStateLength
  ) {
    throw new Error('the peer answered a start of another shape');
  }
  const finishAnswer = await connection.send(login.finish.bytes());
  const finished = expectJson(finishAnswer, 200, 'POST /login/finish');
  if (finished.sessionKey !== login.expectedSessionKey) {
    throw new Error('the peer derived another session key');
  }
}
