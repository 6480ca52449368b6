/**
 * The `cors` section of the configuration: exact origins only, from the file or from
 * `BKV_CORS_ORIGINS`. What the middleware answers is tested on a real vault in
 * test/browser/cors.e2e.test.ts.
 */
import { ConfigError, loadConfig } from '../config';

function problemsOf(origins: string[]): string[] {
  try {
    loadConfig({ env: {}, overrides: { cors: { origins } } });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('the cors configuration', () => {
  it('lists no origin by default', () => {
    expect(loadConfig({ env: {} }).cors).toEqual({ origins: [] });
  });

  it('accepts exact http and https origins, with a port or without', () => {
    expect(problemsOf(['https://app.example.org', 'http://127.0.0.1:5173'])).toEqual([]);
  });

  it('refuses a wildcard, a path, a trailing slash, "null" and other schemes, naming each', () => {
    const bad = ['*', 'https://app.example.org/', 'https://app.example.org/app', 'null'];
    const problems = problemsOf([...bad, 'file:///tmp', 'https://*.example.org']);

    expect(problems).toHaveLength(6);
    problems.forEach((problem, index) => expect(problem).toMatch(`cors.origins.${index}: `));
  });

  it('reads BKV_CORS_ORIGINS as a comma-separated list that replaces the file', () => {
    const env = { BKV_CORS_ORIGINS: 'https://a.example, https://b.example:8443,' };
    const config = loadConfig({ env });

    expect(config.cors.origins).toEqual(['https://a.example', 'https://b.example:8443']);
  });
});
