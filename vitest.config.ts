import { defineConfig } from 'vitest/config';

// `npm test`: everything but the API-server suite (`npm run test:e2e`) and the real control plane (`npm run test:cluster`).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'test/cluster/**', 'node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    // Every function a test starts (directly or through npm run render) serves its
    // metrics on a free loopback port instead of :8080, so parallel files never clash.
    env: { FUNCTION_METRICS_ADDRESS: '127.0.0.1:0' },
  },
});
