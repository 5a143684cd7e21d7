/**
 * Section `memory`: a server's RSS over many calls (closed loop), ours beside
 * the no-op floor: after warm-up and at the end, and the growth between.
 */
import { rssMb } from '../cpu.js';
import { closedLoop, rawClient } from '../load.js';
import { log, results, round } from '../results.js';
import { CANDIDATE, FLOOR, MEMORY_CALLS, MEMORY_CHECKPOINT, nodeArgsFor, OURS, OURS_ARGS } from '../settings.js';
import { spawnServer, type Spawned } from '../spawn.js';
import { sleep } from '../timing.js';

export async function memoryOf(label: string, script: string, args: string[], payload: Buffer) {
  log(`memory: ${label}, ${MEMORY_CALLS} calls`);
  const server: Spawned = await spawnServer(script, { args, nodeArgs: nodeArgsFor(script) });
  const client = rawClient(server.address);
  try {
    await sleep(300);
    const start = rssMb(server.pid);
    const points: { calls: number; rssMb: number }[] = [];
    const checkpoint = async () => {
      await sleep(200);
      points.push({ calls: -1, rssMb: rssMb(server.pid) });
    };
    const r = await closedLoop(client, payload, 16, { calls: MEMORY_CALLS }, { [MEMORY_CHECKPOINT]: checkpoint, [MEMORY_CALLS]: checkpoint });
    if (points.length !== 2 || r.errors) throw new Error(`memory run: ${points.length} checkpoints, ${r.errors} errors`);
    const at10k = points[0]!.rssMb;
    const atEnd = points[1]!.rssMb;
    return {
      label,
      calls: MEMORY_CALLS,
      throughput: round(r.throughput, 1),
      rssStartMb: round(start, 1),
      rssAfter10kMb: round(at10k, 1),
      rssAfterAllMb: round(atEnd, 1),
      growth10kToAllMb: round(atEnd - at10k, 1),
      growthStartToAllMb: round(atEnd - start, 1),
    };
  } finally {
    client.close();
    await server.stop();
  }
}

export async function memorySection(payloads: { typical: Buffer; observed: Buffer }): Promise<void> {
  results.memory = {
    note: `closed loop, 16 in flight; RSS from /proc/<pid>/status VmRSS, 200 ms after the loop pauses at ${MEMORY_CHECKPOINT} and ${MEMORY_CALLS} answered calls`,
    ours: await memoryOf('ours, second reconcile (c)', OURS, OURS_ARGS, payloads.observed),
    floor: await memoryOf('floor, second-reconcile request', FLOOR, [], payloads.observed),
    ...(CANDIDATE ? { candidate: await memoryOf('candidate, second reconcile', CANDIDATE, OURS_ARGS, payloads.observed) } : {}),
  };
}
