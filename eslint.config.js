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
    // Domain code is pure: time comes in as a parameter and no I/O library is imported.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'Domain code takes `now` as a parameter.' }, { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Domain code takes `now` as a parameter.' }],
      'no-restricted-imports': ['error', { patterns: ['better-sqlite3', 'imapflow', 'nodemailer', 'fastify', 'node-cron', 'node:fs', 'fs', 'twilio', 'pino'] }],
    },
  },
);
