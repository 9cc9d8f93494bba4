#!/usr/bin/env node
// Builds the native hook client (client/mnemo-client.c) into build/mnemo-client with the C compiler node-gyp already
// needs. It bakes in this Node.js and this package's CLI so the client can start the daemon. A failed build is a
// warning, never a failed install: bin/mnemo-client then runs the Node.js client, with the same command line.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'build', 'mnemo-client');
const cli = join(root, 'dist', 'cli', 'main.js');
const cc = process.env.CC || 'cc';
const quote = (s) => JSON.stringify(s);
mkdirSync(dirname(out), { recursive: true });
const args = [
  '-std=c11',
  '-O2',
  '-Wall',
  '-Wextra',
  `-DMNEMO_NODE=${quote(process.execPath)}`,
  `-DMNEMO_CLI=${quote(cli)}`,
  '-o',
  out,
  join(root, 'client', 'mnemo-client.c'),
];
const result = spawnSync(cc, args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (result.status === 0) {
  console.log(`mnemo: built the native hook client (${out})`);
} else {
  rmSync(out, { force: true });
  const why = result.error ? result.error.message : `${cc} exited with status ${result.status}`;
  console.warn(`mnemo: could not build the native hook client (${why}); hooks will use the Node.js client instead`);
}
