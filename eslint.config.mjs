// ESLint for the TypeScript sources (flat config): ESLint's and typescript-eslint's recommended
// rules, with formatting left to Prettier (eslint-config-prettier turns the overlapping rules off).
// `npm run lint` runs it and `prettier --check`; CI runs it through `npm test`.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['out/', 'dist/', 'build/', 'node_modules/', 'native/', '.e2e/', 'test-artifacts/', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  prettier,
  {
    rules: {
      // `_name` marks a binding kept on purpose (a destructured field left out, a required parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `import x = require('m')` is a typed import; only untyped require() calls are flagged.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
    },
  },
  {
    // Tests read loosely shaped JSON answers (HTTP bodies, LSP results) field by field.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
