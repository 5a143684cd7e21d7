/**
 * Where the reference data lives (../shared beside the repository), and the
 * rule for when it is missing: under CI it is a failure, locally a skip that
 * says why.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED = resolve(REPO, '../shared');
export const CRDS = resolve(SHARED, 'crds');
export const PROTO = resolve(SHARED, 'proto/run_function.proto');

/** True when the path exists; throws under CI=true; otherwise warns and returns false (the caller skips). */
export function requireShared(path: string): boolean {
  if (existsSync(path)) return true;
  const message = `${path} is missing: the reference CRDs and proto are read from ../shared beside the repository`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`SKIPPED: ${message}`);
  return false;
}

export function repoPath(path: string): string {
  return resolve(REPO, path);
}

/**
 * The clock tests give compose() (it takes the time as an argument; only the
 * server reads the real one): 2026-12-04T12:00:00Z, a fixed instant, so every
 * answer is repeatable.
 */
export const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);
