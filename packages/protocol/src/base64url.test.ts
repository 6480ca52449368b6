import { fromBase64url, toBase64url } from './base64url';

describe('base64url', () => {
  it('round-trips every length from 0 to 64 bytes and matches RFC 4648 §5', () => {
    for (let length = 0; length <= 64; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + length) & 0xff);
      const text = toBase64url(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64url'));
      expect(fromBase64url(text)).toEqual(bytes);
    }
  });

  it.each([
    ['padding', 'AA=='],
    ['standard alphabet', 'a+/b'],
    ['a length of 1 mod 4', 'AAAAA'],
    ['non-zero spare bits', 'AB'],
    ['white space', 'AA AA'],
  ])('refuses %s', (_why, text) => {
    expect(fromBase64url(text)).toBeUndefined();
  });
});
