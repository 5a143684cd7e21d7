// `npm run test:monitoring`: the monitoring files under monitoring/ run by the real
// promtool, kube-state-metrics (against a real kube-apiserver) and postgres_exporter
// (against a real PostgreSQL 15); see test/monitoring/monitoring.monitoring.test.ts.
// One file, run in order: its last checks need what the earlier ones saw.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/monitoring/**/*.monitoring.test.ts'],
    env: { TENANTDB_MONITORING: '1', FUNCTION_METRICS_ADDRESS: '127.0.0.1:0' },
    pool: 'forks',
    fileParallelism: false,
    sequence: { concurrent: false },
    // Building promtool and kube-state-metrics on a cold cache takes minutes; starting etcd + kube-apiserver one or two.
    hookTimeout: 45 * 60_000,
    testTimeout: 5 * 60_000,
    teardownTimeout: 60_000,
  },
});
