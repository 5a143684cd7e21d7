/**
 * An independent gRPC client for the function, generated at run time from
 * the real protocol file (../shared/proto/run_function.proto) with
 * @grpc/proto-loader, so the wire tests do not share a single line of
 * (de)serialization code with the function or its SDK.
 *
 * Message shapes are proto-loader's (keepCase: false, i.e. camelCase field
 * names, the same as the SDK's): Structs are `{fields: {k: Value}}`, Values
 * are `{stringValue}` / `{numberValue}` / `{boolValue}` / `{structValue}` /
 * `{listValue: {values}}` / `{nullValue: 'NULL_VALUE'}`, enums are their
 * names, bytes are Buffers, int64s are strings.
 *
 * Nothing here loads the protocol file at import time: call loadWire(), so a
 * test file can import this module and still skip (or fail) cleanly when the
 * file is missing.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export type Obj = Record<string, any>;

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PROTO_PATH = resolve(REPO_ROOT, '../shared/proto/run_function.proto');
export const PACKAGE = 'apiextensions.fn.proto.v1';
export const SERVICE = `${PACKAGE}.FunctionRunnerService`;

/** The one set of loader options used everywhere in the wire tests. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Calls that do not answer within this are reported as DEADLINE_EXCEEDED instead of hanging a test. */
export const DEFAULT_DEADLINE_MS = 10_000;

export function protoPresent(path = PROTO_PATH): boolean {
  return existsSync(path);
}

// ---------------------------------------------------------------------------
// google.protobuf.Struct / Value <-> plain JSON

export type WireValue =
  | { nullValue: 'NULL_VALUE' }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: WireStruct }
  | { listValue: { values: WireValue[] } };
export interface WireStruct {
  fields: Record<string, WireValue>;
}

function isPlainObject(value: unknown): value is Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A JSON value as a google.protobuf.Value. Like JSON.stringify, undefined object members are dropped and undefined array items become null. */
export function toValue(value: unknown, path = '$'): WireValue {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  switch (typeof value) {
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`${path}: ${value} is not representable in JSON`);
      return { numberValue: value };
    default:
      break;
  }
  if (Array.isArray(value)) return { listValue: { values: value.map((v, i) => toValue(v, `${path}[${i}]`)) } };
  if (isPlainObject(value)) return { structValue: toStruct(value, path) };
  throw new Error(`${path}: cannot put a ${Object.prototype.toString.call(value)} into a google.protobuf.Value`);
}

export function toStruct(object: Obj, path = '$'): WireStruct {
  if (!isPlainObject(object)) throw new Error(`${path}: a google.protobuf.Struct needs a plain object`);
  const fields: Record<string, WireValue> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== undefined) fields[key] = toValue(value, `${path}.${key}`);
  }
  return { fields };
}

/**
 * A decoded google.protobuf.Value as plain JSON. A Value with no kind set
 * (what an encoder writes for `undefined`) becomes null, as Crossplane's Go
 * side (structpb's AsInterface) reads it, so such a value shows up in a
 * comparison instead of silently vanishing.
 */
export function fromValue(value: Obj | null | undefined): unknown {
  if (value === null || value === undefined) return null;
  const kind: string | undefined =
    value.kind ?? ['nullValue', 'numberValue', 'stringValue', 'boolValue', 'structValue', 'listValue'].find((k) => value[k] !== undefined && value[k] !== null);
  switch (kind) {
    case 'nullValue':
      return null;
    case 'numberValue':
      return Number(value.numberValue);
    case 'stringValue':
      return String(value.stringValue);
    case 'boolValue':
      return Boolean(value.boolValue);
    case 'structValue':
      return fromStruct(value.structValue);
    case 'listValue':
      return ((value.listValue?.values ?? []) as Obj[]).map(fromValue);
    default:
      return null;
  }
}

export function fromStruct(struct: Obj | null | undefined): Obj {
  const out: Obj = {};
  for (const [key, value] of Object.entries((struct?.fields ?? {}) as Record<string, Obj>)) out[key] = fromValue(value);
  return out;
}

// ---------------------------------------------------------------------------
// Requests: the SDK-form object from scripts/request.ts -> proto-loader shape

function mapValues<T, U>(record: Record<string, T> | undefined | null, fn: (v: T, k: string) => U): Record<string, U> {
  const out: Record<string, U> = {};
  for (const [k, v] of Object.entries(record ?? {})) out[k] = fn(v, k);
  return out;
}

function bytes(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new Error(`expected bytes, got ${typeof value}`);
}

function toWireResource(r: Obj | undefined | null): Obj | undefined {
  if (!r) return undefined;
  return {
    resource: r.resource === undefined || r.resource === null ? undefined : toStruct(r.resource),
    connectionDetails: mapValues(r.connectionDetails, bytes),
    ready: r.ready ?? 0,
  };
}

function toWireState(state: Obj | undefined | null): Obj | undefined {
  if (!state) return undefined;
  return { composite: toWireResource(state.composite), resources: mapValues(state.resources, (r: Obj) => toWireResource(r)!) };
}

function toWireResources(record: Record<string, Obj> | undefined): Record<string, Obj> {
  return mapValues(record, (rs) => ({ items: ((rs?.items ?? []) as Obj[]).map((r) => toWireResource(r)!) }));
}

/** A RunFunctionRequest built by buildRequest() (SDK form) in proto-loader's message shape. */
export function toWireRequest(req: Obj): Obj {
  return {
    meta: req.meta ? { tag: req.meta.tag ?? '', capabilities: [...(req.meta.capabilities ?? [])] } : undefined,
    observed: toWireState(req.observed),
    desired: toWireState(req.desired),
    input: req.input === undefined || req.input === null ? undefined : toStruct(req.input),
    context: req.context === undefined || req.context === null ? undefined : toStruct(req.context),
    extraResources: toWireResources(req.extraResources),
    credentials: mapValues(req.credentials as Record<string, Obj>, (c) =>
      c?.credentialData ? { credentialData: { data: mapValues(c.credentialData.data, bytes) } } : {},
    ),
    requiredResources: toWireResources(req.requiredResources),
    requiredSchemas: mapValues(req.requiredSchemas as Record<string, Obj>, (s) =>
      s?.openapiV3 ? { openapiV3: toStruct(s.openapiV3) } : {},
    ),
  };
}

// ---------------------------------------------------------------------------
// Responses -> plain JSON (one shape for the wire and for compose() in-process)

export interface PlainResource {
  resource: Obj;
  connectionDetails: Record<string, Buffer>;
  ready: string;
}
export interface PlainResponse {
  meta: { tag: string; ttl?: { seconds: string; nanos: number } };
  desired: { composite?: PlainResource; resources: Record<string, PlainResource> };
  results: Obj[];
  conditions: Obj[];
  context?: Obj;
  requirements?: Obj;
  output?: Obj;
}

/** Copy only the keys whose value is set (proto3 `optional` fields absent on the wire are simply missing). */
function defined(object: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(object)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

/**
 * A response as plain JSON, whichever side decoded it: `struct` turns a
 * Struct field into a plain object, `name` an enum value into its name.
 */
function plainResponse(rsp: Obj, struct: (v: unknown) => Obj, name: (enumType: string, v: unknown) => string | undefined): PlainResponse {
  const resource = (r: Obj): PlainResource => ({
    resource: struct(r.resource),
    connectionDetails: mapValues(r.connectionDetails, bytes),
    ready: name('Ready', r.ready ?? 0)!,
  });
  const out: PlainResponse = {
    meta: defined({
      tag: rsp.meta?.tag ?? '',
      ttl: rsp.meta?.ttl ? { seconds: String(rsp.meta.ttl.seconds ?? 0), nanos: Number(rsp.meta.ttl.nanos ?? 0) } : undefined,
    }) as PlainResponse['meta'],
    desired: defined({
      composite: rsp.desired?.composite ? resource(rsp.desired.composite) : undefined,
      resources: mapValues(rsp.desired?.resources, resource),
    }) as PlainResponse['desired'],
    results: ((rsp.results ?? []) as Obj[]).map((r) =>
      defined({ severity: name('Severity', r.severity ?? 0), message: r.message ?? '', reason: r.reason, target: name('Target', r.target) }),
    ),
    conditions: ((rsp.conditions ?? []) as Obj[]).map((c) =>
      defined({
        type: c.type ?? '',
        status: name('Status', c.status ?? 0),
        reason: c.reason ?? '',
        message: c.message,
        target: name('Target', c.target),
      }),
    ),
  };
  if (rsp.context) out.context = struct(rsp.context);
  if (rsp.requirements) out.requirements = rsp.requirements;
  if (rsp.output) out.output = struct(rsp.output);
  if (!out.desired.resources) out.desired.resources = {};
  return out;
}

/** A response decoded by proto-loader as plain JSON: Structs as objects, enums as names (proto-loader's already). */
export function fromWireResponse(rsp: Obj): PlainResponse {
  return plainResponse(rsp, (v) => fromStruct(v as Obj), (_type, v) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined));
}

// ---------------------------------------------------------------------------
// Loading the protocol and talking to a server

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
interface RunFunctionClient extends grpc.Client {
  RunFunction(req: Obj, metadata: grpc.Metadata, options: grpc.CallOptions, cb: Callback<Obj>): grpc.ClientUnaryCall;
}
interface RawClient extends grpc.Client {
  RunFunction(req: Buffer, metadata: grpc.Metadata, options: grpc.CallOptions, cb: Callback<Buffer>): grpc.ClientUnaryCall;
}

export interface WireClient {
  /** RunFunction with a proto-loader-shaped request; resolves with the decoded response. */
  run(req: Obj, deadlineMs?: number): Promise<Obj>;
  /** RunFunction with request bytes as they are; resolves with the response bytes as they came. */
  runRaw(payload: Buffer, deadlineMs?: number): Promise<Buffer>;
  close(): void;
}

export interface Wire {
  packageDefinition: protoLoader.PackageDefinition;
  method: protoLoader.MethodDefinition<Obj, Obj>;
  /** Request object (proto-loader shape) -> bytes, with protobufjs' fromObject + encode. */
  encodeRequest(req: Obj): Buffer;
  decodeRequest(payload: Buffer): Obj;
  encodeResponse(rsp: Obj): Buffer;
  decodeResponse(payload: Buffer): Obj;
  /** The name of an enum value, e.g. enumName('Ready', 2) === 'READY_FALSE'. Names pass through. */
  enumName(enumType: string, value: number | string | undefined): string | undefined;
  /** A response returned by compose() in-process (SDK form) in the same plain shape as fromWireResponse(). */
  fromSdkResponse(rsp: Obj): PlainResponse;
  connect(address: string, credentials?: grpc.ChannelCredentials): WireClient;
}

function deadline(ms: number): grpc.CallOptions {
  return { deadline: new Date(Date.now() + ms) };
}

export function loadWire(protoPath = PROTO_PATH): Wire {
  if (!existsSync(protoPath)) throw new Error(`protocol file not found: ${protoPath}`);
  const packageDefinition = protoLoader.loadSync(protoPath, LOADER_OPTIONS);
  const service = packageDefinition[SERVICE] as protoLoader.ServiceDefinition | undefined;
  if (!service?.RunFunction) throw new Error(`${protoPath} does not define ${SERVICE}/RunFunction`);
  const method = service.RunFunction as protoLoader.MethodDefinition<Obj, Obj>;

  const enums = new Map<string, Map<number, string>>();
  const enumName = (enumType: string, value: number | string | undefined): string | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    let names = enums.get(enumType);
    if (!names) {
      const def = packageDefinition[`${PACKAGE}.${enumType}`] as protoLoader.EnumTypeDefinition | undefined;
      if (!def || def.format !== 'Protocol Buffer 3 EnumDescriptorProto') throw new Error(`no enum ${PACKAGE}.${enumType}`);
      names = new Map(((def.type as Obj).value as Obj[]).map((v) => [Number(v.number), String(v.name)]));
      enums.set(enumType, names);
    }
    return names.get(value) ?? String(value);
  };

  // Through JSON, as a Struct would carry it: drops undefined members.
  const fromSdkResponse = (rsp: Obj): PlainResponse =>
    plainResponse(rsp, (v) => JSON.parse(JSON.stringify(v ?? {})), (type, v) => enumName(type, v as number | undefined));

  const Client = grpc.makeGenericClientConstructor(service, 'FunctionRunnerService') as unknown as new (
    address: string,
    credentials: grpc.ChannelCredentials,
  ) => RunFunctionClient;
  const identity = (b: Buffer) => b;
  const RawClientCtor = grpc.makeGenericClientConstructor(
    {
      RunFunction: {
        path: method.path,
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    'FunctionRunnerServiceRaw',
  ) as unknown as new (address: string, credentials: grpc.ChannelCredentials) => RawClient;

  return {
    packageDefinition,
    method,
    encodeRequest: (req) => method.requestSerialize(req),
    decodeRequest: (payload) => method.requestDeserialize(payload),
    encodeResponse: (rsp) => method.responseSerialize(rsp),
    decodeResponse: (payload) => method.responseDeserialize(payload),
    enumName,
    fromSdkResponse,
    connect(address, credentials = grpc.credentials.createInsecure()) {
      const client = new Client(address, credentials);
      const raw = new RawClientCtor(address, credentials);
      return {
        run: (req, ms = DEFAULT_DEADLINE_MS) =>
          new Promise<Obj>((ok, fail) =>
            client.RunFunction(req, new grpc.Metadata(), deadline(ms), (err, rsp) => (err ? fail(err) : ok(rsp!))),
          ),
        runRaw: (payload, ms = DEFAULT_DEADLINE_MS) =>
          new Promise<Buffer>((ok, fail) =>
            raw.RunFunction(payload, new grpc.Metadata(), deadline(ms), (err, rsp) => (err ? fail(err) : ok(rsp!))),
          ),
        close() {
          client.close();
          raw.close();
        },
      };
    },
  };
}
