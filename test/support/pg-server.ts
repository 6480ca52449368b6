/**
 * A private PostgreSQL server for tests that stop and start the database: its own data folder
 * under the system temp folder, its own port and socket folder, so that the machine's shared
 * server (which other tests use at the same time) is never touched. initdb refuses to run as
 * root, so as root every server command runs as the `postgres` OS user.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  url: string;
  port: number;
  /** Fast shutdown: open connections are cut, new ones are refused. */
  stop(): void;
  start(): void;
  /** Stops the server (if running) and deletes its folder. */
  destroy(): void;
}

/** The folder of initdb and pg_ctl, or undefined when PostgreSQL's server is not installed. */
export function postgresBinDir(): string | undefined {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // pg_config belongs to the dev package; fall back to Debian's layout.
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(debian, v, 'bin')));
  }
  return candidates.find((dir) => existsSync(path.join(dir, 'initdb')));
}

/** A free loopback port (there is a small race until the server binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Makes a new cluster in a temp folder and starts it on a free port. */
export async function startPrivatePostgres(binDir: string): Promise<PrivatePostgres> {
  const root = mkdtempSync(path.join(tmpdir(), 'bkv-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('chown', ['postgres:postgres', root]);
  const data = path.join(root, 'data');
  const run = (tool: string, args: string[]) => {
    const bin = path.join(binDir, tool);
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
    execFileSync(cmd, argv, { stdio: 'pipe', cwd: root });
  };

  // Trust on loopback, no fsync: a test server that must start in about a second.
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const start = () =>
    run('pg_ctl', ['-D', data, '-l', path.join(root, 'server.log'), '-o', options, '-w', 'start']);
  let running = false;
  start();
  running = true;

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: () => {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      running = false;
    },
    start: () => {
      start();
      running = true;
    },
    destroy: () => {
      if (running) {
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } catch {
          // Already gone; the folder goes next either way.
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
