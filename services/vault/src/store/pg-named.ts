/**
 * Named parameters for pg, which only knows `$1, $2, ...`: `:name` in the SQL text becomes a
 * positional parameter, the same number each time the name repeats. Casts (`::bigint`) are
 * left alone. Compiled once per statement, so the placeholders cost nothing per call.
 */
export interface NamedQuery {
  /** The SQL with `$n` placeholders. */
  text: string;
  /** The parameter name behind each `$n`, in order. */
  names: readonly string[];
}

export function named(sql: string): NamedQuery {
  const names: string[] = [];
  const text = sql.replace(/(?<!:):([A-Za-z][A-Za-z0-9]*)/g, (_match, name: string) => {
    let index = names.indexOf(name);
    if (index < 0) index = names.push(name) - 1;
    return `$${index + 1}`;
  });
  return { text, names };
}

/** The values in placeholder order; a missing one is a programming error, caught at once. */
export function valuesFor(query: NamedQuery, params: Record<string, unknown>): unknown[] {
  return query.names.map((name) => {
    if (!(name in params)) throw new Error(`Missing SQL parameter :${name}`);
    return params[name];
  });
}
