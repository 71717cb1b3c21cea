// Type-aware lint for every package: promises must be awaited or handled, no `any`, no import cycles, and connector
// packages reach packages/shared only through its named entry points (docs/sdk.md).
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'packages/shared/src/gen/**', 'out/**', '.vitest/**', 'coverage/**'],
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    plugins: { 'import-x': importX },
    languageOptions: {
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js', '.mjs'],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      'import-x/no-cycle': 'error',
      'import-x/no-self-import': 'error',
    },
  },
  {
    // A connector package imports the SDK by its entry points only, never a file of packages/shared by path.
    files: ['packages/*/src/**/*.ts', 'packages/*/simulator/**/*.ts', 'packages/*/test/**/*.ts', 'test/**/*.ts'],
    ignores: ['packages/shared/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@baton-ts/shared/[^/]+/',
              message: 'Import @baton-ts/shared through its entry points (see docs/sdk.md).',
            },
            {
              regex: '(^|/)shared/(src|dist)/',
              message: 'Import @baton-ts/shared through its entry points, not by path.',
            },
          ],
        },
      ],
    },
  },
);
