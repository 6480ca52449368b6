/**
 * Bundles `@bkv/client` for a browser the way an app's bundler would: esbuild on the `browser`
 * platform, which takes the `browser` condition of the package exports. Workspace packages are
 * taken from their sources (as jest does), so the test needs no build: each export target under
 * `dist/` is read at its `src/` twin.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';

const ROOT = path.resolve(__dirname, '..', '..');

/** Where each workspace package lives. */
const PACKAGES: Record<string, string> = {
  '@bkv/protocol': 'packages/protocol',
  '@bkv/client': 'packages/client',
  '@bkv/hsm': 'packages/hsm',
  '@bkv/cli': 'packages/cli',
  '@bkv/vault': 'services/vault',
};

/** What the bundle holds: its code and the source files that went into it. */
export interface Bundle {
  code: string;
  inputs: string[];
}

/** Bundles `specifier` (an `@bkv/*` import) as an IIFE that sets `globalThis[globalName]`. */
export async function bundleForBrowser(specifier: string, globalName = 'bkv'): Promise<Bundle> {
  const result = await build({
    stdin: { contents: `export * from '${specifier}';`, resolveDir: __dirname, loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName,
    target: 'chrome120',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [workspaceSources],
  });
  return {
    code: result.outputFiles[0]!.text,
    inputs: Object.keys(result.metafile.inputs).map((input) => path.resolve(ROOT, input)),
  };
}

/** Resolves `@bkv/<name>[/<subpath>]` through the package's exports, browser condition first. */
const workspaceSources: Plugin = {
  name: 'workspace-sources',
  setup(on) {
    on.onResolve({ filter: /^@bkv\/[a-z-]+(\/.*)?$/ }, ({ path: specifier }) => {
      const [scope, name, ...rest] = specifier.split('/');
      const folder = PACKAGES[`${scope}/${name}`];
      if (folder === undefined) return { errors: [{ text: `unknown package ${specifier}` }] };
      const subpath = rest.length === 0 ? '.' : `./${rest.join('/')}`;
      const manifest = JSON.parse(readFileSync(path.join(ROOT, folder, 'package.json'), 'utf8'));
      const target = exportTarget(manifest as Manifest, subpath);
      const source = target?.match(/^(?:\.\/)?dist\/(.+)\.js$/)?.[1];
      if (source === undefined) {
        return { errors: [{ text: `${specifier}: no browser export under dist/` }] };
      }
      return { path: path.join(ROOT, folder, 'src', `${source}.ts`) };
    });
  },
};

interface Manifest {
  main?: string;
  exports?: Record<string, string | Record<string, string>>;
}

/** Node's exports resolution, reduced to what the workspace uses: conditions in order. */
function exportTarget(manifest: Manifest, subpath: string): string | undefined {
  if (manifest.exports === undefined) return subpath === '.' ? manifest.main : undefined;
  const entry = manifest.exports[subpath];
  if (typeof entry === 'string' || entry === undefined) return entry;
  return entry.browser ?? entry.default;
}
