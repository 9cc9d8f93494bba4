#!/usr/bin/env node
// Puts the ONNX runtime's files in vendor/onnxruntime-node, taken from the onnxruntime-node package on the npm
// registry, without its install script.
//
// Why (issue 13): onnxruntime-node's postinstall downloads its CUDA provider (hundreds of MB) from a NuGet feed on
// every Linux x64 install unless the user's npm config says otherwise, and a package cannot say it for its users: a
// published package's .npmrc is not read, and a bundled dependency's scripts still run. mnemo embeds short texts on the
// CPU, so it ships the runtime's CPU files itself (its JS and the native binding of each platform mnemo supports) and
// never runs that script. The version is the one of the `onnxruntime-common` dependency, which the runtime's JS loads.
//
// Run by `prepare` (so a checkout has it after `npm ci`, and `npm pack` packs it); a no-op when the folder is already
// there for that version. Network: the npm registry only, through npm itself (so the user's registry, proxy and cache
// settings apply).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'vendor', 'onnxruntime-node');
// The platforms mnemo supports and onnxruntime-node has a binding for (it has none for macOS on Intel since 1.24).
export const PLATFORMS = ['linux/x64', 'linux/arm64', 'darwin/arm64'];

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies['onnxruntime-common'];
if (!/^\d+\.\d+\.\d+$/.test(version ?? '')) {
  fail(`package.json must pin onnxruntime-common to an exact version (the runtime's), got ${version}`);
}

function fail(message) {
  console.error(`mnemo: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.status !== 0) {
    const why = result.error ? result.error.message : (result.stderr || result.stdout || '').trim().split('\n').pop();
    fail(`${[command, ...args].join(' ')} failed: ${why}`);
  }
  return result.stdout;
}

function current() {
  try {
    const pkg = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8'));
    const complete = PLATFORMS.every((p) => existsSync(join(target, 'bin', 'napi-v6', p, 'onnxruntime_binding.node')));
    return pkg.version === version && complete;
  } catch {
    return false;
  }
}

if (current()) {
  console.log(`mnemo: the ONNX runtime ${version} is in vendor/onnxruntime-node`);
  process.exit(0);
}

// npm itself fetches the tarball: the one running this script when there is one, else the npm beside this Node.js.
const npm = process.env.npm_execpath
  ? [process.execPath, process.env.npm_execpath]
  : [join(dirname(process.execPath), 'npm')];
// The work folder sits beside the target, so the final rename stays on one file system.
mkdirSync(dirname(target), { recursive: true });
const work = mkdtempSync(join(dirname(target), '.ort-'));
try {
  const packed = run(npm[0], [...npm.slice(1), 'pack', `onnxruntime-node@${version}`, '--prefer-offline', '--json'], {
    cwd: work,
  });
  const file = JSON.parse(packed)[0]?.filename;
  if (!file) fail(`npm pack onnxruntime-node@${version} named no file`);
  const members = ['package.json', 'README.md', 'dist', ...PLATFORMS.map((p) => `bin/napi-v6/${p}`)];
  run('tar', ['-xzf', join(work, file), '-C', work, ...members.map((m) => `package/${m}`)]);

  const pkg = JSON.parse(readFileSync(join(work, 'package', 'package.json'), 'utf8'));
  const kept = {
    name: pkg.name,
    version: pkg.version,
    description: `${pkg.description}: its CPU files, vendored by mnemo without its install script`,
    license: pkg.license,
    repository: pkg.repository,
    main: pkg.main,
    types: pkg.types,
    dependencies: { 'onnxruntime-common': pkg.dependencies['onnxruntime-common'] },
  };
  writeFileSync(join(work, 'package', 'package.json'), `${JSON.stringify(kept, null, 2)}\n`);

  // Into place by rename, so an interrupted run leaves the old folder or none, never half of one.
  rmSync(target, { recursive: true, force: true });
  renameSync(join(work, 'package'), target);
  console.log(`mnemo: vendored the ONNX runtime ${version} (${PLATFORMS.join(', ')}) into vendor/onnxruntime-node`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
