/**
 * The benchmark's vault in a process of its own (see support-measured-child.ts), so that the
 * load generator's HTTP client does not share the vault's event loop. It is the scenario tests'
 * vault (`startTestVault`: SoftHSM, SQLite, cheap KDF, high request limits) started with the
 * overrides given as JSON in argv[2], and it reports `{ url, dataDir }` once listening. Its log
 * lines go to a file (support-log-file.ts).
 */
import { startTestVault } from '../support/test-vault';
import type { VaultEndpoint } from './support-http-recovery';
import {
  answerParent,
  forkMeasured,
  runAsChild,
  type MeasuredChild,
} from './support-measured-child';
import { logFile } from './support-log-file';
import { applyStoreKnobs } from './support-store-knobs';

/** A vault running in a child process. */
export type ChildVault = VaultEndpoint & MeasuredChild;

/**
 * Forks this file as a vault. `execArgv` goes to the child's node (e.g. `--cpu-prof`); `env` is
 * added to the inherited environment (e.g. UV_THREADPOOL_SIZE).
 */
export function forkVault(
  overrides: Record<string, unknown>,
  execArgv: string[] = [],
  env: Record<string, string> = {},
): Promise<ChildVault> {
  return forkMeasured<VaultEndpoint>(__filename, [JSON.stringify(overrides)], execArgv, env);
}

async function serve(): Promise<void> {
  const log = logFile('vault');
  const vault = await startTestVault(
    JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>,
    { logDestination: log.destination },
  );
  applyStoreKnobs(vault.vault);
  const endpoint: VaultEndpoint = { url: vault.url, dataDir: vault.dataDir };
  await answerParent('vault', endpoint, async () => {
    await vault.close();
    log.remove();
  });
}

runAsChild(module, serve);
