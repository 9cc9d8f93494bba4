// Mutation testing on demand (issue 11): `npm run test:mutation`. See docs/mutation.md.
//
// Stryker mutates the TypeScript sources and compiles them in its sandbox (`buildCommand`), because the tests
// import the compiled dist/ and spawn dist/cli/main.js: mutating src/ and building keeps the report on src/ lines
// and the tests on the code they always run. Only the modules whose failures hurt users are mutated, and only the
// test files that exercise them in the test process are run (see vitest.mutation.config.ts): Stryker's per-test
// coverage is collected in that process, so what a test reaches only inside a spawned daemon counts as not covered.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * `file:start-end` for the lines of a method or function, found by the text its first line starts with (after the
 * indentation) and ended by the first line after it that closes the block at the same indentation. Computed on every
 * run, so edits elsewhere in the file cannot shift the range onto other code.
 */
function range(file, head) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => l.trimStart().startsWith(head));
  if (start < 0) throw new Error(`stryker.config.mjs: no line starting with '${head}' in ${file}`);
  const indent = lines[start].length - lines[start].trimStart().length;
  const close = `${' '.repeat(indent)}}`;
  const end = lines.findIndex(
    (l, i) => i > start && (l === close || [')', ';', ','].some((c) => l.startsWith(`${close}${c}`))),
  );
  if (end < 0) throw new Error(`stryker.config.mjs: no end for '${head}' in ${file}`);
  return `${file}:${start + 1}-${end + 1}`;
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: {
    configFile: 'vitest.mutation.config.ts',
    // The tests import ../dist/..., not src/: vitest cannot relate them to the mutated files.
    related: false,
    // As in vitest.config.ts: the tests change process.umask(), which worker threads may not.
    pool: 'forks',
  },
  coverageAnalysis: 'perTest',
  // The build runs before Stryker would link node_modules into the sandbox, and tsc needs the type packages: link it
  // first, here.
  symlinkNodeModules: false,
  buildCommand: `node test/helpers/mutation-build.mjs ${resolve('node_modules')}`,
  mutate: [
    // The wire: frame length limit and decoding.
    'src/protocol/frame.ts',
    // Privacy before storage.
    'src/store/redact.ts',
    // The capture writes: what a hook event becomes, and the SQL that records it (one transaction per event).
    'src/capture/record.ts',
    range('src/store/capture-store.ts', 'private touchSession('),
    range('src/store/capture-store.ts', 'sessionStart('),
    range('src/store/capture-store.ts', 'userPrompt('),
    range('src/store/capture-store.ts', 'private turnOf('),
    range('src/store/capture-store.ts', 'toolUse('),
    range('src/store/capture-store.ts', 'stop('),
    range('src/store/capture-store.ts', 'sessionEnd('),
    range('src/store/capture-store.ts', 'endSession('),
    range('src/store/capture-store.ts', 'enqueue('),
    // ...and the durability of every write (WAL, synchronous=FULL).
    range('src/store/db.ts', 'export function openDb('),
    // Export and import: what the CLI commands do (not their help texts), the export page, the stored fields they
    // carry both ways.
    range('src/cli/commands/transfer.ts', 'async run({ values, json })'),
    range('src/cli/commands/transfer.ts', 'async function importer('),
    range('src/cli/commands/transfer.ts', 'async run({ values, positionals, json })'),
    range('src/cli/commands/transfer.ts', 'async function dryRun('),
    range('src/cli/commands/transfer.ts', 'async function importFromPeer('),
    range('src/engine.ts', 'async storeBatch('),
    range('src/engine.ts', 'private newMemory('),
    range('src/engine.ts', 'exportPage('),
    range('src/store/memory-store.ts', 'insertMany('),
    range('src/store/memory-store.ts', 'toMemory('),
    range('src/store/memory-store.ts', 'rowsAfter('),
    // The delete filter: what a filter selects, and what the engine deletes for a selection.
    'src/store/filter.ts',
    range('src/engine.ts', 'delete(s: DeleteSelection)'),
  ],
  // One test runner: the machine has 2 cores, shared, and each run starts ONNX worker threads (and, for some tests,
  // a daemon).
  concurrency: 1,
  // A mutant can make a test wait on a daemon that never answers: give such runs a bounded, generous timeout.
  timeoutMS: 20_000,
  dryRunTimeoutMinutes: 15,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: true },
  incrementalFile: 'reports/mutation/incremental.json',
  ignorePatterns: ['reports', 'native-bench/results', '.stryker-tmp'],
  tempDirName: '.stryker-tmp',
  // The goal of issue 11: at least 80% on every file in scope (the run fails below 80% overall).
  thresholds: { high: 90, low: 80, break: 80 },
};
