#!/usr/bin/env node
/**
 * The floor: a function that does nothing, on the same SDK, wired the same way
 * as ours (FunctionRunner + getServer, a pino logger at info level, insecure,
 * loopback). Its handler returns the SDK's own `to(req)`, so every cost left is
 * the SDK's and grpc-js's: request decode (protobuf + Struct unwrap), the
 * runner, response encode. Prints {"port":N} once listening.
 *
 *   node dist/bench/noop.js [--address 127.0.0.1:0]
 */
import { to } from '@crossplane-org/function-sdk-typescript';
import { serveFloor } from './floor-server.js';

const argv = process.argv.slice(2);
const at = argv.indexOf('--address');
const address = at >= 0 && argv[at + 1] ? argv[at + 1]! : '127.0.0.1:0';

serveFloor('noop', address, (req) => to(req));
