// @ts-check
// Type-aware lint for the whole monorepo (issue 2, STYLE.md): recommended + type-checked
// recommended, plus the rules that catch what the house style forbids — floating promises,
// non-exhaustive switches over unions, deep imports of a lib, and `process.env` read anywhere
// but the config lib. Layer rules (domain purity, app-to-app imports, cycles) live in
// .dependency-cruiser.cjs because they need the resolved module graph.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

const TS_FILES = [
  'apps/**/*.ts',
  'libs/**/*.ts',
  'test/**/*.ts',
  'bench/**/*.ts',
  'scripts/**/*.ts',
];

const TEST_FILES = ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts'];

// A lib is imported through its root only: `@app/<lib>`, never `@app/<lib>/src/...`, and never
// by a relative path into another lib's folder.
const deepImportPatterns = [
  {
    regex: '^@app/[^/]+/.+',
    message: 'Import a lib through its root (`@app/<lib>`), not its internals.',
  },
  {
    group: ['**/libs/*/src', '**/libs/*/src/**'],
    message: 'Import a lib through its root (`@app/<lib>`), not by a path into its folder.',
  },
];

// `process.env` reached through an import instead of the global.
const processEnvImportPaths = ['process', 'node:process'].map((name) => ({
  name,
  importNames: ['env'],
  message: 'Read configuration through @app/config (validated once at boot), not process.env.',
}));

// Node's globals for the few plain JS/CJS/MJS files (configs, scripts); spares a dependency.
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate',
    'queueMicrotask',
    'structuredClone',
    'fetch',
    'AbortController',
    'TextEncoder',
    'TextDecoder',
  ].map((name) => [name, 'readonly']),
);
const commonJsGlobals = {
  require: 'readonly',
  module: 'writable',
  exports: 'writable',
  __dirname: 'readonly',
  __filename: 'readonly',
};

export default defineConfig(
  globalIgnores([
    '**/dist/**',
    '**/node_modules/**',
    '**/coverage/**',
    'jest.config.js',
    'apps/admin/dist/**',
  ]),

  // Plain JavaScript: configs and tooling files.
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: nodeGlobals },
  },
  {
    files: ['**/*.{js,cjs}'],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, ...commonJsGlobals } },
  },

  // TypeScript, type-aware.
  {
    files: TS_FILES,
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // A switch over a union names every member; the `default` (if any) assigns to `never`.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { allowDefaultCaseForExhaustiveSwitch: true, considerDefaultExhaustiveForUnions: false },
      ],
      // `_`-prefixed names are deliberate (`const _exhaustive: never = event`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
      'no-restricted-imports': ['error', { patterns: deepImportPatterns }],
    },
  },

  // Config is validated once at boot: nothing in apps/ or libs/ reads process.env except the
  // config lib, the test helpers, and tests.
  {
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    ignores: ['libs/config/**', 'libs/testing/**', '**/*.spec.ts', '**/*.int-spec.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message:
            'Read configuration through @app/config (validated once at boot), not process.env.',
        },
      ],
      'no-restricted-imports': [
        'error',
        { paths: processEnvImportPaths, patterns: deepImportPatterns },
      ],
    },
  },

  // Tests: supertest bodies, jest matchers and fixtures are `any` by design; the type-unsafety
  // rules would only add casts that prove nothing.
  {
    files: TEST_FILES,
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
