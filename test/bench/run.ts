/**
 * Runs every scenario benchmark in this folder, one after the other, so that their numbers are
 * measured on the same machine in one sitting. Each benchmark prints its own table and ratios.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

async function main(): Promise<void> {
  const only = process.argv[2];
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => only === undefined || f.startsWith(only))
    .sort();
  for (const file of files) {
    process.stdout.write(`\n== ${file.replace(/\.bench\.js$/, '')} ==\n`);
    const bench = (await import(path.join(__dirname, file))) as { main: () => Promise<void> };
    await bench.main();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
