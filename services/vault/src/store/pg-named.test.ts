/** Named parameters for pg: one placeholder per name, casts untouched, nothing missing. */
import { named, valuesFor } from './pg-named';

describe('named', () => {
  it('numbers each name once and leaves casts alone', () => {
    const query = named('SELECT :a::bigint, :b, :a WHERE x = :b::text');
    expect(query.text).toBe('SELECT $1::bigint, $2, $1 WHERE x = $2::text');
    expect(valuesFor(query, { a: 1, b: 'two', unused: 3 })).toEqual([1, 'two']);
  });

  it('refuses to run with a parameter missing', () => {
    expect(() => valuesFor(named('SELECT :a'), {})).toThrow('Missing SQL parameter :a');
  });
});
