import { argon2id } from 'hash-wasm';
import { BkvError } from './errors';
import { normalizePassphrase, stretchPassphrase } from './stretch';
import type { Kdf } from './suite';

const small: Kdf = { alg: 'argon2id', memoryKiB: 256, iterations: 2, parallelism: 1 };
const salt = new Uint8Array(16).fill(1);

describe('normalizePassphrase', () => {
  it('gives composed and decomposed é the same bytes', () => {
    expect(normalizePassphrase('caf\u00e9')).toEqual(normalizePassphrase('cafe\u0301'));
  });

  it('folds the fi ligature into f and i', () => {
    expect(normalizePassphrase('\ufb01sh')).toEqual(new TextEncoder().encode('fish'));
  });
});

describe('stretchPassphrase', () => {
  it('is Argon2id of the NFKC UTF-8 bytes with the given parameters', async () => {
    const expected = await argon2id({
      password: new TextEncoder().encode('fish'),
      salt,
      parallelism: 1,
      iterations: 2,
      memorySize: 256,
      hashLength: 32,
      outputType: 'binary',
    });
    expect(await stretchPassphrase('\ufb01sh', salt, small)).toEqual(expected);
  });

  it('depends on every parameter', async () => {
    const base = await stretchPassphrase('fish', salt, small);
    const variants = [
      stretchPassphrase('fish', new Uint8Array(16).fill(2), small),
      stretchPassphrase('fish', salt, { ...small, memoryKiB: 512 }),
      stretchPassphrase('fish', salt, { ...small, iterations: 3 }),
      stretchPassphrase('fish', salt, { ...small, parallelism: 2 }),
    ];
    for (const variant of await Promise.all(variants)) expect(variant).not.toEqual(base);
  });

  it('refuses a salt that is not 16 bytes', async () => {
    await expect(stretchPassphrase('fish', new Uint8Array(8), small)).rejects.toThrow(BkvError);
  });

  it('refuses an empty passphrase', async () => {
    await expect(stretchPassphrase('', salt, small)).rejects.toThrow('passphrase is empty');
  });
});
