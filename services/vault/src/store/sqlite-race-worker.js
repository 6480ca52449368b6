// A worker thread with its own SqliteStore on a shared file: the way separate vault processes
// race for the same rows. Jest's transformer does not reach worker threads, so this file is
// plain JavaScript and compiles the store's TypeScript sources itself, as jest would.
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const Module = require('node:module');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  });
  module._compile(outputText, filename);
};

// Workspace packages resolve to their sources, as jest.config.js maps them.
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const mapped = workerData.aliases[request] ?? request;
  return resolve.call(this, mapped, ...rest);
};

const { SqliteStore } = require(workerData.storeModule);

async function main() {
  const store = new SqliteStore({ path: workerData.path, busyTimeoutMs: 10_000 });
  // Wait until every worker has opened its store, then all go at once.
  const gate = new Int32Array(workerData.gate);
  Atomics.add(gate, 1, 1);
  Atomics.wait(gate, 0, 0);

  const outcomes = [];
  for (const start of workerData.starts) {
    try {
      outcomes.push(await store.startRecovery(start));
    } catch (err) {
      outcomes.push({ kind: 'error', code: err.code, message: err.message });
    }
  }
  await store.close();
  parentPort.postMessage(outcomes);
}

main().catch((err) => parentPort.postMessage([{ kind: 'error', message: String(err) }]));
