/**
 * Canonical key order for what the function passes through.
 *
 * Protobuf Structs are encoded in JavaScript insertion order, so anything
 * copied from the request (resources desired by earlier steps, the prior
 * composite, the context) would carry the request's key order into the
 * response bytes. Those parts, and the map of desired resources, are sorted;
 * the objects this function builds have a fixed key order already (maps taken
 * from the request, like tags, are sorted where they are built), so they are
 * not copied again on every call.
 */
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

/** Sort the keys of a map without copying its values. */
export function sortedMap<V>(map: Record<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const key of Object.keys(map).sort()) out[key] = map[key]!;
  return out;
}
