/**
 * Section `image`: what the runtime image holds besides the distroless base,
 * measured without Docker: a production `npm ci` in a temporary directory,
 * dist/function and package.json.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { at } from '../requests.js';
import { log, results, round } from '../results.js';
import { now } from '../timing.js';

export function duBytes(path: string): number {
  return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
}

/** Production packages per package-lock (not dev), measured in the local node_modules: works offline. */
export function lockEstimate(): { bytes: number; packages: number } {
  const lock = JSON.parse(readFileSync(at('package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
  let bytes = 0;
  let packages = 0;
  for (const [path, meta] of Object.entries(lock.packages)) {
    // Top-level packages only: nested ones are counted inside their parent's directory.
    if (meta.dev || meta.devOptional || !/^node_modules\/(@[^/]+\/)?[^/]+$/.test(path)) continue;
    try {
      bytes += duBytes(at(path));
      packages++;
    } catch {
      /* optional package not installed here */
    }
  }
  return { bytes, packages };
}

export function imageSection(): void {
  log('image: npm ci --omit=dev in a temporary directory');
  const dist = duBytes(at('dist/function'));
  const pkg = duBytes(at('package.json'));
  const dir = mkdtempSync(join(os.tmpdir(), 'tenantdb-image-'));
  let install: { nodeModulesBytes: number; packages: number; seconds: number } | { error: string };
  try {
    copyFileSync(at('package.json'), join(dir, 'package.json'));
    copyFileSync(at('package-lock.json'), join(dir, 'package-lock.json'));
    const t0 = now();
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 240_000,
    });
    const seconds = (now() - t0) / 1e9;
    const listed = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: dir, encoding: 'utf8' });
    install = { nodeModulesBytes: duBytes(join(dir, 'node_modules')), packages: listed.trim().split('\n').length - 1, seconds: round(seconds, 1) };
  } catch (error) {
    install = { error: (error as Error).message.split('\n')[0]! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const estimate = lockEstimate();
  const nodeModules = 'error' in install ? estimate.bytes : install.nodeModulesBytes;
  results.image = {
    note: 'runtime image contents as the Dockerfile copies them (node_modules from npm ci --omit=dev, dist/function, package.json); the distroless Node base image is not counted',
    source: 'error' in install ? 'package-lock estimate (npm ci failed)' : 'npm ci --omit=dev',
    install,
    lockEstimateBytes: estimate.bytes,
    distFunctionBytes: dist,
    packageJsonBytes: pkg,
    totalBytes: nodeModules + dist + pkg,
    totalMb: round((nodeModules + dist + pkg) / 1024 / 1024, 1),
  };
}
