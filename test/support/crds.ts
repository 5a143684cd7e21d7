/**
 * Validate objects against the real CRD schemas in ../shared/crds, the way the
 * API server would, and stricter in one respect: a field the schema does not
 * know is an error here (the API server would silently prune it, which for a
 * composition function means a setting that quietly does nothing).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

type Schema = Record<string, any>;

/** Close every object schema that lists its properties, unless it preserves unknown fields. */
export function closed(schema: Schema): Schema {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) out[k] = k === 'default' || k === 'example' || k === 'enum' ? v : closed(v);
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  return out;
}

const KUBE_FORMATS = ['int32', 'int64', 'float', 'double', 'byte', 'date-time', 'int-or-string', 'quantity', 'duration', 'uri', 'date', 'password'];

export function newAjv(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  for (const f of KUBE_FORMATS) ajv.addFormat(f, true);
  return ajv;
}

/** Every object's envelope: apiVersion, kind, metadata as Kubernetes requires for what we render. */
function envelope(schema: Schema): Schema {
  const props = { ...(schema.properties ?? {}) };
  props.metadata = {
    type: 'object',
    required: ['name'],
    properties: {
      name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$', maxLength: 253 },
      namespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
      labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 63 } },
      annotations: { type: 'object', additionalProperties: { type: 'string' } },
    },
    additionalProperties: false,
  };
  return { ...schema, properties: props, required: [...new Set([...(schema.required ?? []), 'apiVersion', 'kind', 'metadata'])] };
}

/** Built-in kinds the function composes that are checked by a real API server instead (test/e2e). */
const BUILT_IN_KINDS = new Set(['v1/ServiceAccount', 'batch/v1/CronJob', 'batch/v1/Job']);

/** core/v1 Secret, the one composed kind without a CRD checked here. */
const SECRET_SCHEMA: Schema = {
  type: 'object',
  properties: {
    apiVersion: { const: 'v1' },
    kind: { const: 'Secret' },
    type: { type: 'string' },
    immutable: { type: 'boolean' },
    data: { type: 'object', additionalProperties: { type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$' } },
    stringData: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

export interface CrdInfo {
  scope: string;
  schema: Schema;
}

export class CrdValidator {
  private readonly ajv = newAjv();
  private readonly compiled = new Map<string, ValidateFunction>();
  readonly crds = new Map<string, CrdInfo>();

  constructor(dirs: string[]) {
    for (const dir of dirs) {
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
        const crd = parse(readFileSync(join(dir, file), 'utf8'));
        for (const v of crd.spec.versions) {
          const key = `${crd.spec.group}/${v.name}/${crd.spec.names.kind}`;
          this.crds.set(key, { scope: crd.spec.scope, schema: v.schema.openAPIV3Schema });
        }
      }
    }
  }

  private validator(apiVersion: string, kind: string): ValidateFunction | undefined {
    const key = `${apiVersion}/${kind}`;
    let fn = this.compiled.get(key);
    if (fn) return fn;
    const schema = apiVersion === 'v1' && kind === 'Secret' ? SECRET_SCHEMA : this.crds.get(key)?.schema;
    if (!schema) return undefined;
    fn = this.ajv.compile(envelope(closed(schema)));
    this.compiled.set(key, fn);
    return fn;
  }

  /**
   * Errors as readable lines; empty when valid. An unknown apiVersion/kind is an error too,
   * except Kubernetes' own kinds the function composes for backups (no CRD describes them:
   * test/e2e/backup.e2e.test.ts has a real API server check every variant).
   */
  errors(obj: Schema): string[] {
    if (BUILT_IN_KINDS.has(`${String(obj?.apiVersion)}/${String(obj?.kind)}`)) return [];
    const fn = this.validator(String(obj?.apiVersion), String(obj?.kind));
    if (!fn) return [`no CRD for ${obj?.apiVersion} ${obj?.kind}`];
    const valid = (fn as (data: unknown) => boolean)(obj);
    if (valid) return [];
    const label = `${String(obj.kind)} ${String(obj.metadata?.name)}`;
    return (fn.errors ?? []).map((e) => `${label}: ${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  }

  scopeOf(apiVersion: string, kind: string): string | undefined {
    return this.crds.get(`${apiVersion}/${kind}`)?.scope;
  }
}
