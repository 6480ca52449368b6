import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from './config';

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('starts on embedded defaults with nothing set', () => {
    const config = loadConfig({ env: {} });
    expect(config.store).toEqual({ kind: 'sqlite' });
    expect(config.auth).toEqual({ mode: 'local', allowNonLoopback: false });
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8420, trustProxy: false });
    expect(path.isAbsolute(config.dataDir)).toBe(true);
  });

  it('layers a file under the environment', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bkv-config-'));
    const file = path.join(dir, 'vault.json');
    writeFileSync(file, JSON.stringify({ listen: { port: 9000 }, log: { level: 'warn' } }));
    const config = loadConfig({
      file,
      env: { BKV_PORT: '9100', BKV_DATABASE_URL: 'postgres://x/y' },
    });
    expect(config.listen.port).toBe(9100);
    expect(config.log.level).toBe('warn');
    expect(config.store).toEqual({ kind: 'postgres', url: 'postgres://x/y' });
  });

  it("takes the HSM session threads' nice steps from the environment", () => {
    expect(loadConfig({ env: { BKV_HSM_THREAD_NICE: '4' } }).hsm.threadNice).toBe(4);
    expect(problemsOf(() => loadConfig({ env: { BKV_HSM_THREAD_NICE: '25' } }))).toEqual([
      expect.stringContaining('hsm.threadNice'),
    ]);
  });

  it("keeps the file's pool settings when the environment names the database", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'bkv-config-')), 'vault.json');
    writeFileSync(
      file,
      JSON.stringify({ store: { kind: 'postgres', url: 'postgres://file/db', poolSize: 7 } }),
    );
    const config = loadConfig({ file, env: { BKV_DATABASE_URL: 'postgres://env/db' } });
    expect(config.store).toEqual({ kind: 'postgres', url: 'postgres://env/db', poolSize: 7 });
  });

  it('reports every problem at once', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: { BKV_PORT: 'eighty', BKV_LOG_LEVEL: 'loud' },
        overrides: { policy: { guessLimit: { default: 30, max: 20 } }, surprise: true },
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('BKV_PORT'),
        expect.stringContaining('log.level'),
        expect.stringContaining('surprise'),
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(3);
  });

  it('checks the settings against each other, reporting every clash', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {},
        overrides: {
          policy: { guessLimit: { default: 30, max: 20 }, backoff: { baseMs: 10, capMs: 5 } },
        },
      }),
    );
    expect(problems).toEqual([
      expect.stringContaining('policy.guessLimit.default'),
      expect.stringContaining('policy.backoff.baseMs'),
    ]);
  });

  it('refuses local auth on a non-loopback address unless forced', () => {
    const problems = problemsOf(() => loadConfig({ env: { BKV_HOST: '0.0.0.0' } }));
    expect(problems).toEqual([expect.stringContaining('auth.mode local refuses')]);
    const forced = loadConfig({
      env: { BKV_HOST: '0.0.0.0' },
      overrides: { auth: { mode: 'local', allowNonLoopback: true } },
    });
    expect(forced.listen.host).toBe('0.0.0.0');
  });

  it('asks for a PIN source when the token is not the development one', () => {
    const problems = problemsOf(() => loadConfig({ env: { BKV_HSM_DEV_TOKEN: 'false' } }));
    expect(problems).toEqual([expect.stringContaining('pinEnv or pinFile')]);
  });

  it('freezes what it returns', () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.policy.backoff)).toBe(true);
  });
});
