import path from 'node:path';
import Database from 'better-sqlite3';

/** Everything the vault's SQLite file holds about a user, to prove it unchanged or destroyed. */
export function snapshot(dataDir: string, userId: string) {
  const db = new Database(path.join(dataDir, 'vault.sqlite'), { readonly: true });
  try {
    return {
      record: db.prepare('SELECT * FROM records WHERE user_id = ?').get(userId) as
        Record<string, unknown> | undefined,
      enrollments: db.prepare('SELECT * FROM pending_enrollments WHERE user_id = ?').all(userId),
      recoveries: db.prepare('SELECT * FROM pending_recoveries WHERE user_id = ?').all(userId),
    };
  } finally {
    db.close();
  }
}
