// Tests against a real PostgreSQL 15 (test/sql, `npm run test:sql`): what the
// function renders, applied as provider-sql v0.16.0 applies it (see
// test/sql/provider-sql.ts). Each file starts its own throwaway server.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/sql/**/*.sql.test.ts'],
    env: { TENANTDB_SQL: '1' },
    pool: 'forks',
    // One worker per file even on 2 cores: most of the time goes to psql and the servers, not to the workers.
    maxWorkers: 3,
    minWorkers: 1,
    hookTimeout: 120_000,
    testTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
