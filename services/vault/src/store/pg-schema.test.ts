/**
 * `infra/postgres/schema.sql` is the operator's view of the schema that the PostgreSQL store
 * migrates to. This keeps it equal to the migrations; after adding one, regenerate it with
 * `BKV_WRITE_SCHEMA=1 npx jest services/vault/src/store/pg-schema`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { PG_MIGRATIONS } from './pg-schema';

const SCHEMA_FILE = path.resolve(__dirname, '../../../../infra/postgres/schema.sql');

function render(): string {
  const header = [
    '-- The Backup Key Vault schema in PostgreSQL, as the vault migrates to it at start-up.',
    '-- Generated from services/vault/src/store/pg-schema.ts; edit the migrations, not this file.',
    '-- Times are bigint milliseconds since the epoch. The vault records applied migrations in',
    '-- schema_migrations (version, name, applied_at) and takes an advisory lock to migrate.',
  ];
  const parts = PG_MIGRATIONS.map((m) => `-- Migration ${m.version}: ${m.name}\n${m.sql.trim()}\n`);
  return `${header.join('\n')}\n\n${parts.join('\n')}`;
}

describe('infra/postgres/schema.sql', () => {
  it('shows exactly the migrations the PostgreSQL store applies', () => {
    if (process.env.BKV_WRITE_SCHEMA === '1') writeFileSync(SCHEMA_FILE, render());
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(render());
  });
});
