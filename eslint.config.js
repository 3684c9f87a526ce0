import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The store is async: a repository call nobody awaits is a write that may land outside its
    // transaction, or an error nobody sees. These need type information.
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
    },
  },
  {
    // One persistence boundary: no driver and no SQL engine outside src/store/.
    files: ['src/**/*.ts'],
    ignores: ['src/store/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['better-sqlite3', 'pg', 'pg-*'] }],
    },
  },
  {
    // Domain code is pure: time comes in as a parameter and no I/O library is imported.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'Domain code takes `now` as a parameter.' }, { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Domain code takes `now` as a parameter.' }],
      'no-restricted-imports': ['error', { patterns: ['better-sqlite3', 'pg', 'imapflow', 'nodemailer', 'fastify', 'node-cron', 'node:fs', 'fs', 'twilio', 'pino'] }],
    },
  },
);
