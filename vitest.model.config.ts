// The long run of the model-based test of the credential promises (test/model/, `npm run test:model`), for CI:
// the same file `npm test` runs briefly, with thousands of longer sequences. The TENANTDB_MODEL_* variables
// still win, e.g. TENANTDB_MODEL_SEED to replay a run, TENANTDB_MODEL_RUNS to go longer.
import { defineConfig } from 'vitest/config';

const fromEnv = (name: string, fallback: string) => process.env[name] ?? fallback;

export default defineConfig({
  test: {
    include: ['test/model/**/*.model.test.ts'],
    env: {
      TENANTDB_MODEL_RUNS: fromEnv('TENANTDB_MODEL_RUNS', '2000'),
      TENANTDB_MODEL_MAX_COMMANDS: fromEnv('TENANTDB_MODEL_MAX_COMMANDS', '40'),
      TENANTDB_MODEL_TIMEOUT_MS: fromEnv('TENANTDB_MODEL_TIMEOUT_MS', '1800000'),
      FUNCTION_METRICS_ADDRESS: '127.0.0.1:0',
    },
    testTimeout: 60_000,
  },
});
