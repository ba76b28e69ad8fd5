import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Daemon tests start real processes on real sockets; two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
