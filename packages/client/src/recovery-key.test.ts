import {
  formatRecoveryKey,
  isRecoveryKey,
  parseRecoveryKey,
  RecoveryKeyError,
} from './recovery-key';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
const WRITTEN = formatRecoveryKey(KEY);
const DIGITS = WRITTEN.replace(/ /g, '');

describe('formatRecoveryKey', () => {
  it('writes 16 groups of 4 lowercase hex digits', () => {
    expect(WRITTEN).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    expect(WRITTEN.slice(0, 9)).toBe('0b30 557a');
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => formatRecoveryKey(new Uint8Array(31))).toThrow(RangeError);
  });
});

describe('parseRecoveryKey accepts the ways a key is copied', () => {
  const accepted: [string, string][] = [
    ['as written', WRITTEN],
    ['upper case', WRITTEN.toUpperCase()],
    ['without separators', DIGITS],
    ['with dashes', WRITTEN.replace(/ /g, '-')],
    ['over four lines', WRITTEN.replace(/(.{19}) /g, '$1\n')],
    ['with Windows line breaks and a trailing newline', WRITTEN.replace(/ /g, '\r\n') + '\n'],
    ['with surrounding spaces and tabs', `  \t${WRITTEN}\t `],
    ['in uneven groups', DIGITS.replace(/(.{7})/g, '$1 ')],
  ];

  it.each(accepted)('%s', (_name, text) => {
    expect(parseRecoveryKey(text)).toEqual(KEY);
    expect(isRecoveryKey(text)).toBe(true);
  });
});

describe('parseRecoveryKey says what is wrong and where', () => {
  // Position 17 of the written form is the first digit of the fourth group.
  const withO = WRITTEN.slice(0, 16) + 'o' + WRITTEN.slice(17);
  const refused: [string, string, string, RegExp][] = [
    ['nothing typed', '', 'EMPTY', /no key was given/],
    ['only separators', ' - \n', 'EMPTY', /no key was given/],
    ['a lost digit', WRITTEN.slice(0, -1), 'TOO_FEW_DIGITS', /^63 digits found, 64 needed/],
    ['a lost group', WRITTEN.slice(0, -5), 'TOO_FEW_DIGITS', /^60 digits found.*4 digits are/],
    ['an extra digit', WRITTEN + '0', 'TOO_MANY_DIGITS', /^65 digits found, 64 needed$/],
    ['an extra group', WRITTEN + ' 1234', 'TOO_MANY_DIGITS', /^68 digits.*1 group\(s\) of 4 too/],
    ['a letter O for zero', withO, 'NOT_HEX', /^'o' at position 17 .*did you mean '0'\?$/],
    ['a capital O', WRITTEN.replace(/0/, 'O'), 'NOT_HEX', /^'O' at .*did you mean '0'\?$/],
    ['a letter l for one', 'l' + WRITTEN.slice(1), 'NOT_HEX', /^'l' at position 1 .*'1'\?$/],
    ['pasted with quotes', `"${WRITTEN}"`, 'NOT_HEX', /^'"' at position 1 .*remove the quotes/],
    ['curly quotes', `\u201c${WRITTEN}\u201d`, 'NOT_HEX', /position 1 .*remove the quotes/],
    ['a quote inside', WRITTEN.replace(' ', "' "), 'NOT_HEX', /position 5 .*remove the quote$/],
    ['a stray letter', WRITTEN.replace(' ', 'x'), 'NOT_HEX', /^'x' at position 5 is not a hex/],
    ['a non-breaking space', WRITTEN.replace(' ', '\u00a0'), 'NOT_HEX', /^'U\+00A0' at position 5/],
    ['a prefix label', `key: ${WRITTEN}`, 'NOT_HEX', /^'k' at position 1/],
  ];

  it.each(refused)('%s', (_name, text, code, message) => {
    let caught: unknown;
    try {
      parseRecoveryKey(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RecoveryKeyError);
    expect((caught as RecoveryKeyError).code).toBe(code);
    expect((caught as RecoveryKeyError).message).toMatch(message);
    expect(isRecoveryKey(text)).toBe(false);
  });

  it('reports the position of a bad character as typed, separators included', () => {
    const text = `${WRITTEN.slice(0, 40)}#${WRITTEN.slice(41)}`;
    let position: number | undefined;
    try {
      parseRecoveryKey(text);
    } catch (error) {
      position = (error as RecoveryKeyError).position;
    }
    expect(position).toBe(41);
  });
});
