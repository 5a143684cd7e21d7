// End-to-end tests on the real control plane (test/cluster, `npm run test:cluster`):
// ../shared/stack/ starts Crossplane v2.2.4, provider-sql v0.16.0 and PostgreSQL 15 on
// loopback (test/cluster/stack.ts). One stack per flavour file (their CRD names clash), one
// file at a time: a stack is heavy on 2 cores.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/cluster/**/*.cluster.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    // ../shared/stack/build.sh runs when the suite is collected: ~20 minutes on 2 cores from an
    // empty cache, seconds after. Starting a stack takes ~15 s; each case waits at most 3 minutes.
    hookTimeout: 10 * 60_000,
    testTimeout: 8 * 60_000,
    teardownTimeout: 2 * 60_000,
  },
});
