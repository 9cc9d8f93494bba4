import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MIN_NODE_MAJOR, unsupportedNode } from '../src/node-support.js';

describe('supported Node.js versions', () => {
  it('accepts 22 and later, refuses older ones in one sentence', () => {
    expect(MIN_NODE_MAJOR).toBe(22);
    expect(unsupportedNode('22.0.0')).toBeNull();
    expect(unsupportedNode('24.21.0')).toBeNull();
    expect(unsupportedNode('20.20.2')).toBe(
      'mnemo needs Node.js 22 or later (22 and 24 are tested); this is Node.js 20.20.2',
    );
    expect(unsupportedNode('18.0.0')).toMatch(/needs Node\.js 22/);
  });

  it('runs on the Node.js running the tests', () => {
    expect(unsupportedNode()).toBeNull();
  });

  it('loads the in-process engine only after the version check (an old Node gets the sentence, not a crash)', () => {
    // Simulates an old Node by checking the import order: node-check must be the first thing engine-index imports.
    const firstImport =
      "console.log(require('fs').readFileSync('dist/engine-index.js','utf8')" +
      ".split('\\n').find(l => l.startsWith('import')))";
    const r = spawnSync(process.execPath, ['-e', firstImport], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe("import './node-check.js';");
  });
});
