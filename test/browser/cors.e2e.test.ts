/**
 * CORS on a real vault: what a browser asks before a web app's call (the preflight) and what
 * it looks for on the answer, for an origin on the `cors.origins` list and for one that is not.
 */
import { startTestVault, type TestVault } from '../support/test-vault';

const APP = 'http://127.0.0.1:5173';
const OTHER = 'http://127.0.0.1:5174';

/** A request as a browser sends it from a page of `origin`. */
async function fromPage(
  url: string,
  method: string,
  origin: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const response = await fetch(url, { method, headers: { origin, ...headers } });
  await response.arrayBuffer();
  return response;
}

/** The preflight a browser sends before an authenticated JSON POST. */
function preflight(url: string, origin: string): Promise<Response> {
  return fromPage(url, 'OPTIONS', origin, {
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization,content-type',
  });
}

describe('CORS for a listed web app origin', () => {
  let t: TestVault;

  beforeAll(async () => {
    t = await startTestVault({ cors: { origins: [APP] } });
  });

  afterAll(async () => {
    await t.close();
  });

  it('answers the preflight of a listed origin with 204 and what it may send', async () => {
    const response = await preflight(`${t.url}/v1/enrollments`, APP);

    expect(response.status).toBe(204);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE');
    expect(response.headers.get('access-control-allow-headers')).toBe(
      'Authorization, Content-Type, X-Request-Id',
    );
    expect(Number(response.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(response.headers.get('vary')).toMatch(/\bOrigin\b/i);
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('refuses the preflight of an origin not on the list by sending no CORS header', async () => {
    const response = await preflight(`${t.url}/v1/recoveries`, OTHER);

    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-allow-methods')).toBeNull();
    expect(response.headers.get('access-control-allow-headers')).toBeNull();
    expect(response.headers.get('vary')).toMatch(/\bOrigin\b/i);
  });

  it('marks an answer for a listed origin, exposing Retry-After and the id', async () => {
    const response = await fromPage(`${t.url}/v1/realm`, 'GET', APP);

    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-expose-headers')).toBe('Retry-After, X-Request-Id');
    expect(response.headers.get('vary')).toMatch(/\bOrigin\b/i);
  });

  it('marks error answers too, so that the page can read the error code', async () => {
    const response = await fromPage(`${t.url}/v1/record`, 'GET', APP);

    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('marks the refusal of a body that is not JSON, or too large, as well', async () => {
    const send = (body: string) =>
      fetch(`${t.url}/v1/recoveries`, {
        method: 'POST',
        headers: { origin: APP, 'content-type': 'application/json' },
        body,
      });
    for (const body of ['{"version": 1,', JSON.stringify({ pad: 'x'.repeat(128 * 1024) })]) {
      const response = await send(body);
      const answer = (await response.json()) as { error: { code: string } };

      expect([response.status, answer.error.code]).toEqual([400, 'INVALID_REQUEST']);
      expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    }
  });

  it('leaves actual answers to another origin unmarked', async () => {
    const response = await fromPage(`${t.url}/v1/realm`, 'GET', OTHER);

    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.headers.get('access-control-expose-headers')).toBeNull();
  });

  it('sends no CORS header outside /v1', async () => {
    const response = await fromPage(`${t.url}/healthz`, 'GET', APP);

    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS by default', () => {
  let t: TestVault;

  beforeAll(async () => {
    t = await startTestVault();
  });

  afterAll(async () => {
    await t.close();
  });

  it('sends no CORS header to any origin when none is listed', async () => {
    const answer = await fromPage(`${t.url}/v1/realm`, 'GET', APP);
    const asked = await preflight(`${t.url}/v1/enrollments`, APP);

    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    expect(asked.headers.get('access-control-allow-origin')).toBeNull();
    expect(asked.headers.get('access-control-allow-methods')).toBeNull();
  });
});
