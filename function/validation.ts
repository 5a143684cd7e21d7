/**
 * JSON Schema validation with messages a person can act on.
 *
 * One ajv instance compiles each schema once, at module load, never per call.
 * Defaults from the schema are applied (as the API server would) to a copy of
 * the input, and the first failure is turned into a sentence that names the
 * field the way a YAML author writes it: `spec.extensions[0].name`.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { isKubernetesTime, KUBERNETES_TIME, KUBERNETES_TIME_HINT } from './time.js';

// Kubernetes keywords (x-kubernetes-*) are enforced by the API server, not here.
const options = { strict: false, useDefaults: true, allErrors: false } as const;
/** Fails on fields it does not know: for the platform's own input, where a typo must not pass silently. */
const strictAjv = new Ajv(options);
/**
 * Drops fields it does not know, as the API server prunes them: an XR's spec
 * also carries Crossplane's own fields (compositionRef, resourceRefs, ...).
 */
const pruningAjv = new Ajv({ ...options, removeAdditional: 'all' });
// The one format the schemas use: a Kubernetes time (the API server's date-time, narrowed to whole seconds).
for (const ajv of [strictAjv, pruningAjv]) ajv.addFormat('date-time', { type: 'string', validate: isKubernetesTime });

/** Patterns and formats worth a sentence instead of a regular expression. */
const PATTERN_HINTS: Record<string, string> = { [KUBERNETES_TIME]: KUBERNETES_TIME_HINT, 'date-time': KUBERNETES_TIME_HINT };

/** Deeper than any schema here; Kubernetes objects nest a few dozen levels at most. */
export const MAX_DEPTH = 64;

interface PathLink {
  key: string;
  parent?: PathLink;
}

function render(link: PathLink | undefined): string {
  const keys: string[] = [];
  for (let l = link; l; l = l.parent) keys.unshift(l.key);
  return keys.map((k) => (/^\d+$/.test(k) ? `[${k}]` : `.${k.slice(0, 64)}`)).join('');
}

/**
 * Where a JSON-like value first nests deeper than `limit` (a path such as
 * `.a.b[0]`), or undefined. Iterative, so that a hostile request cannot
 * overflow the stack while being measured; the path is only built on failure.
 */
export function tooDeepAt(value: unknown, limit: number): string | undefined {
  const stack: [unknown, number, PathLink | undefined][] = [[value, 0, undefined]];
  while (stack.length) {
    const [node, depth, link] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= limit) return render(link);
    for (const [key, child] of Object.entries(node as Record<string, unknown>)) stack.push([child, depth + 1, { key, parent: link }]);
  }
  return undefined;
}

export type Validated<T> = { value: T } | { error: string };

/** Render an ajv instance path (/a/0/b) as a YAML path (root.a[0].b). */
export function fieldPath(root: string, instancePath: string): string {
  let path = root;
  for (const segment of instancePath.split('/').slice(1)) {
    const key = segment.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(key) ? `[${key}]` : `.${key}`;
  }
  return path;
}

/** Show at most a short, printable prefix of a value the author wrote. */
function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 40 ? `${printable.slice(0, 40)}...` : printable;
}

function describe(error: ErrorObject, root: string): string {
  const where = fieldPath(root, error.instancePath);
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where}: unknown field "${String(p.additionalProperty).slice(0, 64)}"`;
    case 'required':
      return `${fieldPath(root, `${error.instancePath}/${String(p.missingProperty)}`)}: is required`;
    case 'enum':
      return `${where}: must be one of ${(p.allowedValues as unknown[]).map(String).join(', ')}`;
    case 'type':
      return `${where}: must be of type ${String(p.type)}`;
    case 'pattern': {
      const hint = PATTERN_HINTS[String(p.pattern)];
      return hint ? `${where}: must be ${hint}` : `${where}: must match ${String(p.pattern)}`;
    }
    case 'format':
      return `${where}: must be ${PATTERN_HINTS[String(p.format)] ?? `a valid ${String(p.format)}`}`;
    case 'not':
      return `${where}: value is reserved`;
    default:
      return `${where}: ${error.message ?? 'is invalid'}`;
  }
}

/**
 * Compile a schema into a function that validates a copy of its input and
 * returns the defaulted (and, when pruning, pruned) copy, or the first error as a sentence. It never
 * throws and never mutates what it is given.
 */
export function compileSchema<T>(
  schema: object,
  root: string,
  unknownFields: 'prune' | 'reject',
): (raw: unknown) => Validated<T> {
  const validate = (unknownFields === 'prune' ? pruningAjv : strictAjv).compile(schema);
  return (raw) => {
    const deep = tooDeepAt(raw, MAX_DEPTH);
    if (deep !== undefined) {
      const where = deep.length > 120 ? `${deep.slice(0, 120)}...` : deep;
      return { error: `${root}${where}: nested more than ${MAX_DEPTH} levels deep` };
    }
    let copy: unknown;
    try {
      copy = structuredClone(raw);
    } catch {
      return { error: `${root}: is not plain data` };
    }
    if (validate(copy)) return { value: copy as T };
    const [first] = validate.errors ?? [];
    const value = first ? valueAt(copy, first.instancePath) : undefined;
    const message = first ? describe(first, root) : `${root}: is invalid`;
    return { error: first && first.keyword !== 'required' && first.keyword !== 'additionalProperties' ? `${message} (got ${preview(value)})` : message };
  };
}

function valueAt(root: unknown, instancePath: string): unknown {
  let node = root;
  for (const segment of instancePath.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segment.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}
