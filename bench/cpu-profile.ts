/**
 * Reading V8 CPU profiles (`node --cpu-prof`): self time by package/area and
 * by function, for bench/profile.ts (a printed summary) and bench/run.ts
 * (server CPU per call by part, within a time window).
 */
export interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
export interface CpuProfile {
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
export function category(url: string, fn: string): string {
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

/**
 * Self time (us) by category of the samples taken between fromUs and toUs
 * (V8's profile clock, which on Linux is CLOCK_MONOTONIC like
 * process.hrtime), idle time left out; and how many samples fell in.
 */
export function selfTimeByCategory(profile: CpuProfile, fromUs: number, toUs: number): { byCategory: Map<string, number>; samples: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byCategory = new Map<string, number>();
  let t = profile.startTime;
  let samples = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    const node = byId.get(profile.samples[i]!)!;
    const fn = node.callFrame.functionName;
    if (fn === '(idle)' || fn === '(root)') continue;
    samples++;
    // As summarize() counts it: the time since the previous sample.
    const us = profile.timeDeltas[i] ?? 0;
    const cat = category(node.callFrame.url, fn);
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + us);
  }
  return { byCategory, samples };
}
