// Child process for realm-race.test.ts: loads the adapter's TypeScript sources through a
// transpiling require hook, waits for the common start time, opens the realm with
// `initialize` and prints the realm id it ended with.
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const ts = require('typescript');

const protocolSource = path.resolve(__dirname, '../../protocol/src/index.ts');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return resolve.call(this, request === '@bkv/protocol' ? protocolSource : request, ...rest);
};
require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 };
  module._compile(
    ts.transpileModule(source, { compilerOptions, fileName: filename }).outputText,
    filename,
  );
};

const { loadHsmConfig } = require('./config.ts');
const { openHsm } = require('./open-hsm.ts');

async function main() {
  const [input, startAt, initializeLock] = process.argv.slice(2);
  const config = loadHsmConfig(JSON.parse(input));
  await new Promise((done) => setTimeout(done, Math.max(0, Number(startAt) - Date.now())));
  const hsm = await openHsm(config, { initialize: true, initializeLock });
  process.stdout.write(Buffer.from(hsm.realmId).toString('hex'));
  await hsm.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
