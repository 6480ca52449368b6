import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { BkvError } from '@bkv/protocol';
import { DEFAULT_THREAD_NICE, defaultPoolSize, loadHsmConfig } from './config';

const base = { modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'realm' };

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BkvError);
    expect((err as BkvError).code).toBe('INVALID_REQUEST');
    return (err as BkvError).message;
  }
  throw new Error('expected a failure');
}

describe('loadHsmConfig', () => {
  it('reads the PIN from the named environment variable and fills the defaults', () => {
    const config = loadHsmConfig({ ...base, pinEnv: 'BKV_HSM_PIN' }, { BKV_HSM_PIN: '1234' });
    expect(config.pin.reveal()).toBe('1234');
    expect(config.poolSize).toBe(defaultPoolSize());
    expect(config.keyLabelPrefix).toBe('bkv.');
    expect(config.threadNice).toBe(DEFAULT_THREAD_NICE);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the PIN from a file, trimming the newline', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bkv-pin-')), 'pin');
    writeFileSync(file, '987654\n', { mode: 0o600 });
    expect(loadHsmConfig({ ...base, pinFile: file }).pin.reveal()).toBe('987654');
  });

  it('reports every problem at once', () => {
    const message = messageOf(() =>
      loadHsmConfig({
        modulePath: 'relative.so',
        tokenLabel: '',
        poolSize: 0,
        threadNice: 20,
        extra: 1,
      }),
    );
    for (const field of ['modulePath', 'tokenLabel', 'poolSize', 'threadNice', 'extra']) {
      expect(message).toContain(field);
    }
  });

  it('wants exactly one PIN source and a set PIN', () => {
    expect(messageOf(() => loadHsmConfig(base))).toContain('exactly one of pinEnv and pinFile');
    expect(messageOf(() => loadHsmConfig({ ...base, pinEnv: 'UNSET_PIN' }, {}))).toContain(
      'UNSET_PIN',
    );
  });

  it('never prints the PIN, in strings, JSON or inspect', () => {
    const config = loadHsmConfig({ ...base, pinEnv: 'P' }, { P: 'hunter2' });
    const printed = [String(config.pin), JSON.stringify(config), inspect(config)].join(' ');
    expect(printed).not.toContain('hunter2');
    expect(printed).toContain('[REDACTED]');
  });
});
