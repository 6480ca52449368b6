/**
 * The 64-digit key: the backup key `K` written down by the user instead of being escrowed.
 *
 * All 256 bits are shown as 64 lowercase hex digits in 16 groups of 4, with no checksum (there
 * is no room for one without making the key longer). Parsing is forgiving about how the key was
 * copied (case, spaces, dashes, line breaks) and strict about everything else, and its errors
 * say what is wrong and where, because the reader is a person holding a sheet of paper.
 */
/** Bytes in a backup key, and hex digits in its written form. */
export const RECOVERY_KEY_BYTES = 32;
export const RECOVERY_KEY_DIGITS = 64;

/** Why a typed key was refused. Stable: branch on these, not on the message. */
export type RecoveryKeyErrorCode = 'EMPTY' | 'NOT_HEX' | 'TOO_FEW_DIGITS' | 'TOO_MANY_DIGITS';

/** A key that could not be read. The message is written for the person who typed it. */
export class RecoveryKeyError extends Error {
  readonly code: RecoveryKeyErrorCode;
  /** For NOT_HEX: 1-based position of the offending character in the input as typed. */
  readonly position: number | undefined;

  constructor(code: RecoveryKeyErrorCode, message: string, position?: number) {
    super(message);
    this.name = 'RecoveryKeyError';
    this.code = code;
    this.position = position;
  }
}

/** Characters people type for a hex digit they misread, with the digit they meant. */
const LOOKALIKES: Readonly<Record<string, string>> = {
  o: '0',
  O: '0',
  l: '1',
  I: '1',
  i: '1',
  s: '5',
  S: '5',
  z: '2',
  Z: '2',
  g: '9',
  G: '6',
};

/** Quotation marks a key often arrives wrapped in when pasted from a message or a document. */
const QUOTES = new Set(['"', "'", '`', '\u2018', '\u2019', '\u201c', '\u201d', '\u00ab', '\u00bb']);

/** Separators that carry no meaning: spaces, tabs, dashes and line breaks. */
const SEPARATORS = new Set([' ', '\t', '-', '\r', '\n']);

/** Writes a 32-byte key as 16 groups of 4 lowercase hex digits separated by spaces. */
export function formatRecoveryKey(key: Uint8Array): string {
  if (key.length !== RECOVERY_KEY_BYTES) {
    throw new RangeError(`a backup key has ${RECOVERY_KEY_BYTES} bytes, got ${key.length}`);
  }
  // By hand rather than Buffer, so that the key reads and writes the same in a browser.
  const hex = Array.from(key, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return hex.match(/.{4}/g)!.join(' ');
}

/**
 * Reads a typed or pasted 64-digit key. Accepts either case and ignores spaces, tabs, dashes
 * and line breaks anywhere; refuses every other character, and any count of digits but 64.
 * @throws RecoveryKeyError naming the first bad character or the digit count.
 */
export function parseRecoveryKey(text: string): Uint8Array {
  const characters = Array.from(text);
  const meaningful = characters.flatMap((c, i) => (SEPARATORS.has(c) ? [] : [i]));
  let digits = '';

  // The first character that is neither a hex digit nor a separator decides the error, so the
  // user fixes the input from left to right. Positions count every character as typed.
  for (const [index, character] of characters.entries()) {
    if (SEPARATORS.has(character)) continue;
    if (/^[0-9a-fA-F]$/.test(character)) {
      digits += character.toLowerCase();
      continue;
    }
    const atEdge = index === meaningful[0] || index === meaningful[meaningful.length - 1];
    throw notHex(character, index + 1, atEdge);
  }

  // Only then the count: a lost digit or an extra group of four.
  if (digits.length === 0) throw new RecoveryKeyError('EMPTY', 'no key was given');
  if (digits.length < RECOVERY_KEY_DIGITS) {
    const missing = RECOVERY_KEY_DIGITS - digits.length;
    throw new RecoveryKeyError(
      'TOO_FEW_DIGITS',
      `${digits.length} digits found, ${RECOVERY_KEY_DIGITS} needed: ` +
        `${missing} ${missing === 1 ? 'digit is' : 'digits are'} missing`,
    );
  }
  if (digits.length > RECOVERY_KEY_DIGITS) {
    const extra = digits.length - RECOVERY_KEY_DIGITS;
    const groups = extra % 4 === 0 ? `; ${extra / 4} group(s) of 4 too many` : '';
    throw new RecoveryKeyError(
      'TOO_MANY_DIGITS',
      `${digits.length} digits found, ${RECOVERY_KEY_DIGITS} needed${groups}`,
    );
  }
  return Uint8Array.from(digits.match(/../g)!, (pair) => parseInt(pair, 16));
}

/** True when `text` reads as a 64-digit key. */
export function isRecoveryKey(text: string): boolean {
  try {
    parseRecoveryKey(text);
    return true;
  } catch (error) {
    if (error instanceof RecoveryKeyError) return false;
    throw error;
  }
}

/** The error for a character that is not a hex digit, with a hint when one is likely. */
function notHex(character: string, position: number, atEdge: boolean): RecoveryKeyError {
  // Invisible characters are shown by their code point, the rest as typed.
  const invisible = /^[\p{C}\p{Z}]$/u.test(character);
  const code = character.codePointAt(0)!.toString(16).padStart(4, '0');
  const shown = invisible ? `U+${code.toUpperCase()}` : character;
  let hint = '';
  if (LOOKALIKES[character] !== undefined) hint = `; did you mean '${LOOKALIKES[character]}'?`;
  else if (QUOTES.has(character) && atEdge) hint = '; remove the quotes around the key';
  else if (QUOTES.has(character)) hint = '; remove the quote';
  return new RecoveryKeyError(
    'NOT_HEX',
    `'${shown}' at position ${position} is not a hex digit${hint}`,
    position,
  );
}
