/**
 * Canonical key order for everything the function returns.
 *
 * Protobuf Structs are encoded in JavaScript insertion order, so a request
 * whose objects arrive with keys in another order (or a pass-through resource
 * built by an earlier function) would otherwise change the bytes of the
 * response. Sorting object keys once, at the end, makes the same request
 * always yield byte-identical output.
 */
import type { RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function sortKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortKeys) as T;
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
  return out as T;
}

export function canonical(rsp: RunFunctionResponse): RunFunctionResponse {
  return { ...rsp, desired: sortKeys(rsp.desired), context: sortKeys(rsp.context) };
}
