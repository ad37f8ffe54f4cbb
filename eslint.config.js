// Flat config: typescript-eslint with type information, plus the layering rules of DESIGN.md
// ("imports point down the picture only").
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
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
    // renderer/: browser code, typed by its own tsconfigs (DOM lib, no Node types; tests see Node types).
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    ...reactHooks.configs.flat['recommended-latest'],
    languageOptions: {
      parserOptions: {
        projectService: false,
        project: ['./renderer/tsconfig.json', './renderer/tsconfig.test.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      ...reactHooks.configs.flat['recommended-latest'].rules,
      'no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'renderer/ reaches the service through src/api only, never electron.' }],
        patterns: [
          { group: ['node:*'], message: 'renderer/ never imports node:* (DESIGN.md); it runs in a browser.' },
          { regex: '^electron/', message: 'renderer/ reaches the service through src/api only, never electron.' },
          // electron/bridge.ts is the pure adapter for window.coloConsole, made for the renderer.
          { group: ['**/electron/**', '!**/electron/bridge.js'], message: 'renderer/ imports nothing from electron/ but bridge.js.' },
        ],
      }],
    },
  },
  {
    // Unit tests of the renderer's pure logic run under node's test runner.
    files: ['renderer/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'renderer/ never imports electron.' }],
        patterns: [{ regex: '^electron/', message: 'renderer/ never imports electron.' }],
      }],
    },
  },
  {
    files: ['renderer/vite.config.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Playwright specs and config: Node code, typed by e2e/tsconfig.json.
    files: ['e2e/**/*.ts', 'playwright.config.ts'],
    languageOptions: {
      parserOptions: { projectService: false, project: ['./e2e/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    files: ['*.js', '*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
