// Flat config: typescript-eslint with type information, plus the layering rules of DESIGN.md
// ("imports point down the picture only").
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'release/**', 'node_modules/**', 'test-results/**', 'playwright-report/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }],
      }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['electron', 'electron/*'], message: 'core/ never imports electron (DESIGN.md).' },
          { group: ['react', 'react-dom', 'react/*', 'zustand', 'recharts'], message: 'core/ never imports UI libraries.' },
          { group: ['**/renderer/**', '**/electron/**'], message: 'core/ sits below electron/ and renderer/.' },
        ],
      }],
    },
  },
  {
    files: ['core/stream/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['../colo/*', '../backends/*', '../service/*', '../api/*', '../cli/*', '../ssh/*'], message: 'core/stream is the bottom layer.' }],
      }],
    },
  },
  {
    files: ['core/colo/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['../backends/*', '../service/*', '../api/*', '../cli/*', '../ssh/*'], message: 'core/colo imports only core/stream below it.' }],
      }],
    },
  },
  {
    files: ['*.js', '*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
