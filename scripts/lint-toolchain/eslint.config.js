// ESLint for the whole repository, run by scripts/lint and scripts/test (see scripts/lint for the commands).
// Base: typescript-eslint's strict and stylistic type-checked rules; every rule turned off or tuned says why.
// Layout is Prettier's job (.prettierrc.json beside this file), so no formatting rules here.
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const repo = fileURLToPath(new URL('../..', import.meta.url));

// Every TypeScript file of the services and the contracts; scripts/test fails on any finding.
const files = ['services/**/*.ts', 'contracts/**/*.ts'];

export default defineConfig(
  {
    basePath: repo,
    ignores: ['**/node_modules/**', '**/dist/**', '**/.run/**', '**/.tap/**'],
  },
  {
    basePath: repo,
    files,
    extends: [js.configs.recommended, tseslint.configs.strictTypeChecked, tseslint.configs.stylisticTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: repo },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Numbers (and bigints) print as their digits; the rule is kept for what prints badly (undefined, objects, any).
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // Fastify plugins and hooks and tap subtests take async functions by contract (a hook without async is called
      // with a done callback it must call); an async function without await is harmless, a floating promise is not.
      '@typescript-eslint/require-await': 'off',
      // With noUncheckedIndexedAccess every index reads as `T | undefined`; `!` states what a loop bound, a regex group
      // or an aggregate query guarantees. Widely turned off with that compiler option; everything else stays checked.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `() => done()` is the usual callback shorthand; void used as a value elsewhere is still reported.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // An empty arrow is the idiom for a deliberate no-op: a rejection ignored in teardown, a notice handler.
      '@typescript-eslint/no-empty-function': ['error', { allow: ['arrowFunctions'] }],
      // A leading underscore, or a rest sibling (`const { sealed: _sealed, ...rest } = data`), names what is left out.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      '@typescript-eslint/no-floating-promises': [
        'error',
        // tap queues subtests and runs them in order, so the promise t.test returns need not be awaited.
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
    },
  },
  {
    basePath: repo,
    files: ['services/**/*.test.ts', 'contracts/**/*.test.ts'],
    rules: {
      // Tests read JSON answers and SQL rows whose shape is what they assert: a wrong shape fails an assertion, so
      // `any` there (and the arithmetic and member access on it) is checked by the test itself.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/restrict-plus-operands': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
