import { basename } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import base from './vitest.config.js';

/**
 * The test files Stryker runs (stryker.config.mjs): the mutants-*.test.ts files, written for the mutated modules, and
 * protocol.test.ts. They exercise those modules in the test process, where Stryker sees which test reaches which
 * mutant (what a test reaches only inside a spawned daemon counts as not covered). The rest of the suite reaches the
 * same code too, but at a cost (a daemon, an engine or minutes of property runs per file) paid again for every mutant
 * it covers. In this order: a mutant that only runs when a module loads (a secret pattern, a limit) runs every file,
 * and a run stops at its first failure, so the files that kill most of those go first.
 */
export const MUTATION_TEST_FILES = [
  'test/mutants-redact.test.ts',
  'test/mutants-frame.test.ts',
  'test/mutants-*.test.ts',
  'test/protocol.test.ts',
];

const rank = (file: string): number => {
  const name = basename(file);
  const i = MUTATION_TEST_FILES.findIndex((p) =>
    p.includes('*') ? name.startsWith(basename(p).split('*')[0]!) : basename(p) === name,
  );
  return i < 0 ? MUTATION_TEST_FILES.length : i;
};

class InListOrder extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return Promise.resolve(
      [...files].sort((a, b) => rank(a.moduleId) - rank(b.moduleId) || a.moduleId.localeCompare(b.moduleId)),
    );
  }
}

// Spread by hand: vite's mergeConfig would append to `include` instead of replacing it.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: MUTATION_TEST_FILES,
    setupFiles: [...[base.test?.setupFiles ?? []].flat(), 'test/helpers/stryker-env.ts'],
    sequence: { ...base.test?.sequence, sequencer: InListOrder },
  },
});
