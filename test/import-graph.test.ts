import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/packs.js';

/**
 * Static imports reachable from a compiled module: what loading it costs before any lazy import() runs. With `lazy`,
 * literal import('...') calls are followed too: everything that module can ever load.
 */
function staticClosure(entry: string, lazy = false): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(
      /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm,
    )) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:'))
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
    if (lazy)
      for (const m of source.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) visit(resolve(dirname(file), m[1]!));
  };
  visit(entry);
  return { files, packages };
}

const HEAVY = [
  'onnxruntime-common',
  'better-sqlite3',
  'sqlite-vec',
  'piscina',
  '@anush008/tokenizers',
  'chrono-node',
  'gpt-tokenizer',
];

describe('the hot path loads almost nothing', () => {
  for (const entry of ['index.js', 'client/client.js', 'client/fallback.js', 'cli/main.js', 'mcp/server.js']) {
    it(`${entry} statically imports no engine, model or database code`, () => {
      const { files, packages } = staticClosure(join(REPO, 'dist', entry));
      for (const heavy of HEAVY) expect([...packages], heavy).not.toContain(heavy);
      expect(
        [...files].some((f) => /dist\/(engine|embed|store|search|daemon)\//.test(f) || f.endsWith('dist/engine.js')),
      ).toBe(false);
      expect([...packages].filter((p) => !['@modelcontextprotocol/sdk', 'zod', 'msgpackr'].includes(p))).toEqual([]);
    });
  }

  for (const entry of ['index.js', 'client/client.js', 'client/fallback.js']) {
    it(`${entry} loads no schema library either (only the codec)`, () => {
      expect([...staticClosure(join(REPO, 'dist', entry)).packages]).toEqual(['msgpackr']);
    });
  }

  it('the daemon does load them (the check can fail)', () => {
    const { packages } = staticClosure(join(REPO, 'dist', 'daemon', 'daemon.js'));
    expect([...packages]).toEqual(expect.arrayContaining(['better-sqlite3', 'piscina', 'pino']));
  });

  it('nothing the package runs loads gpt-tokenizer (its cl100k Map held 35 MiB of the daemon; issue 14)', () => {
    for (const entry of ['cli/main.js', 'daemon/daemon.js', 'embed/worker.js', 'mcp/server.js']) {
      expect([...staticClosure(join(REPO, 'dist', entry), true).packages], entry).not.toContain('gpt-tokenizer');
    }
  });

  it('no command and not the daemon can load the generator of test packs (tests and the bench only)', () => {
    for (const entry of ['cli/main.js', 'daemon/daemon.js', 'embed/worker.js']) {
      const { files } = staticClosure(join(REPO, 'dist', entry), true);
      expect(
        [...files].filter((f) => f.endsWith('embed/packs/bert-pack.js')),
        entry,
      ).toEqual([]);
    }
    // The closure does follow lazy imports: the CLI reaches the offline pack's builder only through one.
    expect(
      [...staticClosure(join(REPO, 'dist', 'cli/main.js'), true).files].some((f) =>
        f.endsWith('embed/packs/offline-pack.js'),
      ),
    ).toBe(true);
  });
});
