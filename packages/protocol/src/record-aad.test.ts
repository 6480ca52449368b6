import { recordAad } from './record-aad';

const realmId = new Uint8Array(16).fill(0xaa);

describe('recordAad', () => {
  it('lays out realmId, u32be user id length, user id and u32be version', () => {
    const aad = recordAad(realmId, 'zoë', 258);
    const user = [0x7a, 0x6f, 0xc3, 0xab];
    expect([...aad]).toEqual([...realmId, 0, 0, 0, 4, ...user, 0, 0, 1, 2]);
  });

  it('does not let a user id spill into the version', () => {
    expect(recordAad(realmId, 'a', 1)).not.toEqual(recordAad(realmId, 'a\u0000', 1));
  });

  it('refuses a version that does not fit in 32 bits', () => {
    expect(() => recordAad(realmId, 'a', 2 ** 32)).toThrow(RangeError);
  });

  it('refuses a realm id that is not 16 bytes', () => {
    expect(() => recordAad(new Uint8Array(15), 'a', 1)).toThrow(RangeError);
  });
});
