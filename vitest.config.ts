import { defineConfig } from 'vitest/config';

// `npm test`: everything but the API-server suite, which `npm run test:e2e` runs.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**', 'dist/**'],
    testTimeout: 30_000,
  },
});
