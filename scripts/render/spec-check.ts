/**
 * Fields no schema defines, with the nearest defined name. The API server
 * prunes unknown spec fields without a word, so a typo such as
 * `deletionProtecion: false` leaves protection on, and nobody is told;
 * `npm run render` names each such field before the cluster silently drops
 * it. A misspelt field of the function input is refused by the function
 * ("unknown field"); render adds which field was meant.
 *
 * The schemas are function/spec.ts's specSchema, from which both XRDs are
 * generated, plus the spec fields Crossplane itself adds to claims and XRs;
 * and function/input.ts's inputSchema.
 */
import { inputSchema } from '../../function/input.js';
import { specSchema } from '../../function/spec.js';
import { CLAIM_SPEC, LEGACY_XR_SPEC, V2_XR_SPEC } from './crossplane-fields.js';
import type { Obj } from '../shared/request.js';
import { closest } from '../shared/typos.js';

/** What the object is to the API server, which decides the fields Crossplane adds. */
export type ObjectRole = 'claim' | 'legacy-xr' | 'namespaced-xr';

export interface UndefinedField {
  path: string;
  /** The defined field at the same place whose name is closest, when one is close. */
  suggestion?: string;
}

const CROSSPLANE_SPEC: Record<ObjectRole, Obj> = { claim: CLAIM_SPEC, 'legacy-xr': LEGACY_XR_SPEC, 'namespaced-xr': V2_XR_SPEC };
const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

function objectSchema(role: ObjectRole): Obj {
  return {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: open,
      spec: { ...specSchema, properties: { ...specSchema.properties, ...CROSSPLANE_SPEC[role] } },
      status: open,
    },
  };
}

/** Every field of `obj` (a claim or XR) that its schema does not define, in document order. */
export function undefinedFields(obj: Obj, role: ObjectRole): UndefinedField[] {
  const out: UndefinedField[] = [];
  walk(objectSchema(role), obj, '', out);
  return out;
}

/** Every field of a Composition step's function input that the input schema does not define, as `input.<path>`. */
export function undefinedInputFields(input: unknown): UndefinedField[] {
  const out: UndefinedField[] = [];
  walk(inputSchema, input, 'input', out);
  return out;
}

function walk(schema: Obj, value: unknown, path: string, out: UndefinedField[]): void {
  if (schema['x-kubernetes-preserve-unknown-fields']) return;
  if (schema.type === 'array' && schema.items && Array.isArray(value)) {
    value.forEach((item, i) => walk(schema.items, item, `${path}[${i}]`, out));
    return;
  }
  if (schema.type !== 'object' || !schema.properties || !isPlainObject(value)) return;
  const defined = Object.keys(schema.properties);
  for (const [key, child] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (Object.hasOwn(schema.properties, key)) walk(schema.properties[key], child, at, out);
    else out.push({ path: at, ...withSuggestion(key, defined, path) });
  }
}

/** The closest defined name, if it is a likely typo (one edit away, two for longer names). */
function withSuggestion(key: string, defined: string[], parent: string): { suggestion?: string } {
  const name = closest(key, defined, key.length >= 6 ? 2 : 1);
  return name ? { suggestion: parent ? `${parent}.${name}` : name } : {};
}

function isPlainObject(value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
