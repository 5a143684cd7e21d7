// Backups for real (test/backup/*.backup.test.ts, `npm run test:backup`): the inline
// backup and restore scripts run with sh against PostgreSQL 15 and moto's S3 server,
// with the AWS CLI, all installed by test/backup/install-tools.sh.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/backup/**/*.backup.test.ts'],
    env: { TENANTDB_BACKUP: '1' },
    pool: 'forks',
    fileParallelism: false,
    hookTimeout: 120_000,
    testTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
