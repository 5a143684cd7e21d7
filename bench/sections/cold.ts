/**
 * Section `cold`: from process spawn to the first successful answer, ours
 * beside the no-op floor and a bare `node -e 0`.
 */
import { execFileSync } from 'node:child_process';
import { rawClient, verify } from '../load.js';
import { log, results, round } from '../results.js';
import { CANDIDATE, COLD_RUNS, FLOOR, nodeArgsFor, OURS, OURS_ARGS } from '../settings.js';
import { spawnServer } from '../spawn.js';
import { median, now, sleep } from '../timing.js';

export async function coldStartOf(script: string, args: string[], payload: Buffer) {
  const total: number[] = [];
  const listening: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const t0 = now();
    const server = await spawnServer(script, { args, nodeArgs: nodeArgsFor(script) });
    const t1 = now();
    const client = rawClient(server.address);
    for (;;) {
      try {
        verify(await client.run(payload));
        break;
      } catch (error) {
        if (now() - t0 > 10e9) throw error;
        await sleep(1);
      }
    }
    total.push((now() - t0) / 1e6);
    listening.push((t1 - t0) / 1e6);
    client.close();
    await server.stop();
  }
  return {
    runsMs: total.map((x) => round(x, 1)),
    medianMs: round(median(total), 1),
    medianToListeningMs: round(median(listening), 1),
  };
}

export async function coldSection(payloads: { typical: Buffer }): Promise<void> {
  log('cold start');
  // A bare `node -e 0`, for scale: what no JavaScript of ours can remove.
  const bare: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    const t0 = now();
    execFileSync(process.execPath, ['-e', '0']);
    bare.push((now() - t0) / 1e6);
  }
  results.coldStart = {
    note: 'process spawn to the first successful RunFunction answer (typical claim), median of runs',
    ours: await coldStartOf(OURS, OURS_ARGS, payloads.typical),
    floor: await coldStartOf(FLOOR, [], payloads.typical),
    ...(CANDIDATE ? { candidate: await coldStartOf(CANDIDATE, OURS_ARGS, payloads.typical) } : {}),
    bareNodeMedianMs: round(median(bare), 1),
  };
}
