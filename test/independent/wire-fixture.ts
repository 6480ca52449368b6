/**
 * Shared pieces of the raw wire tests: a vault per test file, clients per user, and request
 * bodies that are valid unless a test changes them.
 */
import { randomBytes } from 'node:crypto';
import { IndependentClient, toB64 } from './client';
import { blind, randomBlind } from './derivations';
import { startTestVault, TEST_KDF, type TestVault } from '../support/test-vault';

/** Canonical base64url of 16 bytes (ids, realm id, salt) and of a 33-byte point. */
export const ID16 = /^[A-Za-z0-9_-]{22}$/;
export const POINT = /^[A-Za-z0-9_-]{44}$/;
export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** A blinded element for an arbitrary input: any valid point is one the realm must evaluate. */
export const element = () => toB64(blind(randomBytes(32), randomBlind()));

/** A random 32-byte tag, wrong for every record. */
export const tag = () => toB64(randomBytes(32));

/** A valid `POST /v1/enrollments` body with `change` applied. */
export const enrollment = (change: Record<string, unknown> = {}) => ({
  kdf: TEST_KDF,
  salt: toB64(randomBytes(16)),
  blindedElement: element(),
  ...change,
});

/** Starts a vault for the file's tests and hands out independent clients per user. */
export function useVault(): {
  vault: () => TestVault;
  as: (user: string) => Promise<IndependentClient>;
} {
  let t: TestVault;
  beforeAll(async () => {
    t = await startTestVault();
  });
  afterAll(async () => {
    await t.close();
  });
  return {
    vault: () => t,
    as: async (user) => new IndependentClient(t.url, await t.tokenFor(user)),
  };
}

/** `POST /v1/recoveries` with a random element. */
export const startRecovery = (client: IndependentClient, version = 1) =>
  client.send('POST', '/v1/recoveries', { version, blindedElement: element() });
