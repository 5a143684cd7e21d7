/**
 * Where the repository is, whether a module runs compiled (dist/scripts/…,
 * dist/bench/…) or from source under vitest: commands, tests and the
 * benchmark read the examples, Compositions and the compiled server relative
 * to it, never to the working directory.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file is scripts/shared/paths.ts, or dist/scripts/shared/paths.js once compiled. */
export const REPO_ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/scripts/') ? '../../../' : '../../', import.meta.url));

/** A repository-relative path made absolute. */
export function repoPath(path: string): string {
  return resolve(REPO_ROOT, path);
}

/** The compiled function server (npm run build writes it). */
export const FUNCTION_MAIN = repoPath('dist/function/main.js');
