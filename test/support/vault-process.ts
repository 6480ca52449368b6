/**
 * A vault as its own operating-system process: `bkv vault start` from the built CLI
 * (`npx tsc -b` first), so that a test can run several on different ports and kill one with
 * SIGKILL. The child inherits SOFTHSM2_CONF, so every process sees the same SoftHSM tokens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface VaultProcess {
  url: string;
  child: ChildProcess;
  /** What the process wrote on stderr so far (start-up problems, warnings). */
  stderr(): string;
  /** SIGKILL: no shutdown, connections and transactions cut where they are. */
  kill(): Promise<void>;
  /** SIGTERM: the graceful shutdown; resolves when the process has exited. */
  stop(): Promise<void>;
}

/** The workspace root: the folder above this file that holds pnpm-workspace.yaml. */
export function workspaceRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'pnpm-workspace.yaml'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('not inside the bkv workspace');
    dir = parent;
  }
  return dir;
}

/** The built CLI; a clear error when the workspace has not been built. */
export function cliMain(): string {
  const main = path.join(workspaceRoot(), 'packages/cli/dist/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run "npx tsc -b" first`);
  return main;
}

/**
 * Starts `bkv vault start --config <file> --port <port>` and resolves once it listens. The
 * child's environment is ours without any `BKV_*` variable, so only the file configures it.
 */
export function spawnVault(configFile: string, port: number, timeoutMs = 30_000) {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('BKV_')) env[name] = value;
  }
  const child = spawn(
    process.execPath,
    [cliMain(), 'vault', 'start', '--config', configFile, '--port', String(port)],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let errText = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  return new Promise<VaultProcess>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('the vault did not start in time')), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\n${errText}`));
    };
    const early = (code: number | null) => fail(new Error(`the vault exited with ${code}`));
    child.once('exit', early);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      errText += chunk;
      const url = /vault listening on (\S+)/.exec(errText)?.[1];
      if (url === undefined) return;
      clearTimeout(timer);
      child.off('exit', early);
      resolve({
        url,
        child,
        stderr: () => errText,
        kill: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}
