import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MiB = 1024 ** 2;

/**
 * Runs the encryption probe (src/bench/encrypt-probe.ts) in a child process, compiling it on
 * load with TypeScript's transpiler, and returns its peak RSS in KiB.
 */
async function peakRss(bytes: number): Promise<{ maxRssKiB: number; written: number }> {
  const probe = path.join(__dirname, '..', 'bench', 'encrypt-probe.ts');
  const loader = `
    const ts = require('typescript');
    const fs = require('node:fs');
    require.extensions['.ts'] = (m, file) => m._compile(ts.transpileModule(
      fs.readFileSync(file, 'utf8'),
      { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } },
    ).outputText, file);
    process.argv.splice(1, 0, ${JSON.stringify(probe)});
    require(${JSON.stringify(probe)});`;
  const { stdout } = await run(process.execPath, ['-e', loader, String(bytes)]);
  return JSON.parse(stdout) as { maxRssKiB: number; written: number };
}

describe('memory while encrypting', () => {
  it('peaks within a few MiB for 4 GiB of what it does for 100 MiB', async () => {
    const small = await peakRss(100 * MiB);
    const large = await peakRss(4 * 1024 * MiB);
    const growthMiB = (large.maxRssKiB - small.maxRssKiB) / 1024;

    console.log(
      `peak RSS encrypting 100 MiB: ${(small.maxRssKiB / 1024).toFixed(1)} MiB; ` +
        `4 GiB: ${(large.maxRssKiB / 1024).toFixed(1)} MiB; growth ${growthMiB.toFixed(1)} MiB`,
    );
    expect(large.written).toBeGreaterThan(4 * 1024 * MiB);
    expect(Math.abs(growthMiB)).toBeLessThan(16);
  });
});
