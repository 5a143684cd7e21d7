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
import { summarize, type CpuProfile } from './cpu-profile.js';

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
  const args = which === 'floor' ? [] : which === 'fair' ? ['--request', requestKind === 'observed' ? 'observed' : 'typical'] : ['--insecure', '--metrics-address='];
  const payload = wire(requestKind === 'observed' ? secondReconcile() : typical()).bytes;
  const dir = values.dir;
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
