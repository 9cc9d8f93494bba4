// Stryker's build step (stryker.config.mjs, buildCommand), run in its sandbox on the mutated sources: links the
// project's node_modules (Stryker links it only after the build, and tsc needs the type packages), then compiles src/
// into the sandbox's dist/, which the tests import and the daemons they spawn run.
import { execFileSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';

const [nodeModules] = process.argv.slice(2);
if (!nodeModules) throw new Error('usage: node mutation-build.mjs <project node_modules>');
if (!existsSync('node_modules')) symlinkSync(nodeModules, 'node_modules', 'dir');
const tsc = createRequire(`${process.cwd()}/package.json`).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { stdio: 'inherit' });
