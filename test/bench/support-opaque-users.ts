/**
 * The software peer's users, shared by its two forms (worker threads, and the HTTP server) and
 * the HTTP peer's load generator: who user `i` is, the client's cheapest key stretching, and
 * a registration done whole on one side (the peer's enrollment).
 */
import * as opaque from '@serenity-kit/opaque';

/** The client's key stretching at its cheapest: only the server's cost is measured. */
export const PEER_STRETCH = {
  'argon2id-custom': { iterations: 1, memory: 8, parallelism: 1 },
} as const;

/** Peer user `i`: the load generator and the peer know it by convention. */
export const peerUser = (i: number) => ({
  userIdentifier: `peer-${i}`,
  password: `peer passphrase ${i}`,
});

/** The registration record of user `i`, client and server steps both done here. */
export function registerPeerUser(serverSetup: string, i: number): string {
  const { userIdentifier, password } = peerUser(i);
  const start = opaque.client.startRegistration({ password });
  const { registrationResponse } = opaque.server.createRegistrationResponse({
    serverSetup,
    userIdentifier,
    registrationRequest: start.registrationRequest,
  });
  return opaque.client.finishRegistration({
    clientRegistrationState: start.clientRegistrationState,
    registrationResponse,
    password,
    keyStretching: PEER_STRETCH,
  }).registrationRecord;
}
