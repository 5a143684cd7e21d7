// End-to-end tests against a real kube-apiserver (test/e2e, `npm run test:e2e`).
// e2e/build.sh must have built the binaries (the npm script runs it first); see
// test/e2e/apiserver.ts. One file, one control plane, run serially.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    env: { TENANTDB_E2E: '1' },
    pool: 'forks',
    fileParallelism: false,
    // Starting etcd + kube-apiserver and installing ~90 CRDs takes a minute or
    // two on 2 cores; building the binaries on a cold cache (when vitest is run
    // without e2e/build.sh first) takes far longer.
    hookTimeout: 45 * 60_000,
    testTimeout: 5 * 60_000,
    teardownTimeout: 60_000,
  },
});
