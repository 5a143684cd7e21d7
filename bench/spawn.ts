/**
 * Spawn a function server script (ours: dist/function/main.js, the floor:
 * dist/bench/noop.js) on a free loopback port and wait for the JSON log line
 * that names the bound port, as scripts/client.ts does for the shipped server.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface Spawned {
  process: ChildProcess;
  pid: number;
  address: string;
  /** Everything the process wrote so far (stdout and stderr). */
  output: () => string;
  /** SIGTERM, then resolve with the exit code. */
  stop: () => Promise<number | null>;
}

export interface SpawnOptions {
  /** Flags for node itself, before the script (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Flags for the script, after --address. */
  args?: string[];
}

export function spawnServer(script: string, opts: SpawnOptions = {}): Promise<Spawned> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), script, '--address', '127.0.0.1:0', ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // Keep draining both pipes for the whole life of the process: a full pipe would block its writes.
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve, reject) => {
    const onData = () => {
      const match = /"port":(\d+)/.exec(output);
      if (!match) return;
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      resolve({
        process: child,
        pid: child.pid!,
        address: `127.0.0.1:${match[1]}`,
        output: () => output,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode);
            child.once('exit', (code) => done(code));
            child.kill('SIGTERM');
          }),
      });
    };
    const onExit = (code: number | null) => reject(new Error(`${script} exited with ${code} before listening:\n${output}`));
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}
