/** The CLI's sentences for errors: the numbers and causes they must carry. */
import { parseArgs } from 'node:util';
import { BkvError } from '@bkv/protocol';
import { describeError } from './messages';

describe('describeError', () => {
  it('gives an HSM configuration fault with its cause, for the operator to act on', () => {
    const cause =
      "the PKCS#11 module cannot do the vault's work with token bkv: " +
      'CKM_ECDH1_DERIVE, to derive (OPRF evaluation): not offered';
    const { message, exit } = describeError(new BkvError('HSM_AUTH_FAILED', cause));
    expect(message).toBe(`the vault's HSM needs its operator: ${cause}`);
    expect(exit).toBe(1);
  });

  it('counts the guesses left and says when none are', () => {
    const wrong = (left: number) =>
      describeError(new BkvError('WRONG_PASSPHRASE', 'x', { guessesRemaining: left }));
    expect(wrong(7)).toEqual({ message: 'wrong passphrase: 7 guesses left', exit: 10 });
    expect(wrong(1).message).toBe('wrong passphrase: 1 guess left');
    expect(wrong(0).message).toMatch(/no guesses left; one more wrong try destroys it/);
  });

  it.each([
    ['an unknown option', ['--nope']],
    ['an option without its value', ['--out']],
    ['a word no command takes', ['extra']],
  ])('gives %s the usage exit code', (_what, args) => {
    const thrown = (() => {
      try {
        parseArgs({ args, options: { out: { type: 'string' } } });
      } catch (err) {
        return err;
      }
    })();
    expect(describeError(thrown).exit).toBe(2);
  });
});
