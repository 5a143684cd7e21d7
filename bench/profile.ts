#!/usr/bin/env node
/**
 * Profile a server under load with `node --cpu-prof` and summarize where its
 * CPU goes.
 *
 *   node dist/bench/profile.js [ours|floor|fair] [typical|observed] [--seconds 10] [--concurrency 8] [--dir <tmpdir>/tenantdb-profiles] [--script <main.js>]
 *   node dist/bench/profile.js --summarize <file.cpuprofile>
 *
 * The profile is written by the server process when it exits (SIGTERM, a
 * graceful stop); the summary lists self time by package/file and by function,
 * and the inclusive time of the top frames.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { closedLoop, rawClient, verify } from './load.js';
import { at, secondReconcile, typical, wire } from './requests.js';
import { spawnServer } from './spawn.js';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A short place for a frame: the package, or the file under the repository. */
function place(url: string): string {
  if (!url) return '(native/vm)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url);
  if (nm) return `${nm[1]}/${nm[2]!.replace(/^(dist|build|lib|src)\//, '')}`;
  const repo = /\/dist\/(.*)$/.exec(url);
  if (repo) return repo[1]!;
  if (url.startsWith('node:')) return url;
  return url;
}
function category(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native/vm)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) {
    const pkg = nm[1]!;
    if (pkg === '@crossplane-org/function-sdk-typescript') return /proto\//.test(url) ? 'sdk: protobuf codec' : 'sdk: other';
    return pkg;
  }
  if (/\/dist\/function\//.test(url)) return 'function/*';
  if (url.startsWith('node:')) return 'node core';
  return url;
}

export function summarize(profile: CpuProfile, top = 30): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totalUs = profile.endTime - profile.startTime;
  const idleUs = [...selfUs].filter(([id]) => byId.get(id)?.callFrame.functionName === '(idle)').reduce((s, [, us]) => s + us, 0);
  const busyUs = totalUs - idleUs;

  const key = (n: CpuNode) => `${n.callFrame.functionName || '(anonymous)'}  ${place(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const selfByFn = new Map<string, number>();
  const selfByCat = new Map<string, number>();
  const inclusive = new Map<string, number>();
  // Depth-first from the root, with the set of function keys already on the stack (recursion counted once).
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const root = profile.nodes.find((n) => !parent.has(n.id))!;
  const walk = (n: CpuNode, onStack: Set<string>): number => {
    const k = key(n);
    let sum = selfUs.get(n.id) ?? 0;
    if (n.callFrame.functionName !== '(idle)' && n.callFrame.functionName !== '(root)') {
      selfByFn.set(k, (selfByFn.get(k) ?? 0) + (selfUs.get(n.id) ?? 0));
      const cat = category(n.callFrame.url, n.callFrame.functionName);
      selfByCat.set(cat, (selfByCat.get(cat) ?? 0) + (selfUs.get(n.id) ?? 0));
    }
    const fresh = !onStack.has(k);
    if (fresh) onStack.add(k);
    for (const c of n.children ?? []) sum += walk(byId.get(c)!, onStack);
    if (fresh) {
      onStack.delete(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + sum);
    }
    return sum;
  };
  walk(root, new Set());

  const pct = (us: number) => `${((100 * us) / busyUs).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(6)} ms`;
  const lines: string[] = [];
  lines.push(`profile: ${(totalUs / 1e6).toFixed(1)} s wall, ${(busyUs / 1e6).toFixed(1)} s busy (percentages of busy time)`);
  lines.push('', 'self time by package / area');
  for (const [k, us] of [...selfByCat].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`${ms(us)} ${pct(us)}  ${k}`);
  lines.push('', `self time, top ${top} functions`);
  for (const [k, us] of [...selfByFn].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`${ms(us)} ${pct(us)}  ${k}`);
  lines.push('', `inclusive time, top ${top} functions`);
  for (const [k, us] of [...inclusive].filter(([k]) => !k.startsWith('(root)')).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`${ms(us)} ${pct(us)}  ${k}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      seconds: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '8' },
      dir: { type: 'string', default: join(tmpdir(), 'tenantdb-profiles') },
      /** Profile another build of the server (a main.js) instead of dist/function/main.js. */
      script: { type: 'string' },
      summarize: { type: 'string' },
      top: { type: 'string', default: '30' },
    },
  });
  const top = Number(values.top);
  if (values.summarize) {
    process.stdout.write(`${summarize(JSON.parse(readFileSync(values.summarize, 'utf8')) as CpuProfile, top)}\n`);
    return;
  }
  const which = positionals[0] ?? 'ours';
  const requestKind = positionals[1] ?? 'typical';
  if (!['ours', 'floor', 'fair'].includes(which)) throw new Error(`unknown server "${which}": ours, floor (no-op) or fair (our precomputed answer)`);
  const scripts: Record<string, string> = { ours: 'dist/function/main.js', floor: 'dist/bench/noop.js', fair: 'dist/bench/replay.js' };
  const script = values.script ?? at(scripts[which]!);
  const args = which === 'floor' ? [] : which === 'fair' ? ['--request', requestKind === 'observed' ? 'observed' : 'typical'] : ['--insecure'];
  const payload = wire(requestKind === 'observed' ? secondReconcile() : typical()).bytes;
  const dir = values.dir!;
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));

  const server = await spawnServer(script, { args, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  const client = rawClient(server.address);
  verify(await client.run(payload));
  const r = await closedLoop(client, payload, Number(values.concurrency), { seconds: Number(values.seconds) });
  client.close();
  const code = await server.stop();
  const written = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
  const file = written.map((f) => join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!file) throw new Error(`no profile written in ${dir} (server exit ${code})\n${server.output()}`);
  process.stdout.write(
    `${which} / ${requestKind}: ${r.completed} calls in ${r.seconds.toFixed(1)} s = ${r.throughput.toFixed(0)}/s at N=${r.concurrency}, ` +
      `p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms\n${file}\n\n${summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top)}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`profile: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
