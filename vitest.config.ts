import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Removes private PostgreSQL clusters whose worker was ended by a signal (postgres.ts).
    globalSetup: ['test/support/global-setup.ts'],
    // Integration tests start their own Dovecot and SMTP servers; two cores, so keep forks few.
    pool: 'forks',
    maxWorkers: 2,
  },
});
