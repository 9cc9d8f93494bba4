// ESLint: typescript-eslint's type-aware rules on the TypeScript (each file checked against its own tsconfig: src/ by
// tsconfig.json, test/ and vitest.config.ts by test/tsconfig.json), the plain JavaScript rules on the scripts and
// benchmarks, which no tsconfig covers. The tests import ../dist, so their types come from the build: `npm run lint`
// builds first. Layout is Prettier's (.prettierrc.json); eslint-config-prettier turns off the rules that would argue
// with it, and max-len then holds what Prettier cannot break: comments and long strings.
import eslint from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'build/', 'node_modules/', '.cache/', 'native-bench/results/', 'vendor/'] },
  eslint.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['vitest.config.ts', 'vitest.mutation.config.ts'],
          defaultProject: 'test/tsconfig.json',
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // `interface MnemoClient extends OpMethods {}` is how a class gets the methods it builds from the op names.
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Vitest types its asymmetric matchers (expect.stringMatching and the like) as any, to fit any field.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  prettier,
  {
    plugins: { '@stylistic': stylistic },
    rules: { '@stylistic/max-len': ['error', { code: 120 }] },
  },
);
