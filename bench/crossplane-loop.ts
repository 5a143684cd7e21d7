/**
 * Crossplane's requirements loop, to count how many times one reconcile calls
 * the function. Crossplane v2.2.4 (internal/xfn/required_resources.go,
 * FetchingFunctionRunner) calls the function, and while the answer is not
 * Fatal and its `requirements` differ from the previous answer's (none before
 * the first call), fetches what they select, puts it in the request
 * (`required_resources`, or `extra_resources` for the deprecated field) with
 * the answer's context, and calls again, at most 1 + 5 times. So an answer
 * that asks for anything costs a second call even when the second answer asks
 * for the same thing: the recorded requests in
 * ../shared/fixtures/crossplane-v2.2.4/ show exactly that pair per reconcile.
 *
 * The comparison is Go's proto.Equal: an absent `requirements` differs from a
 * present but empty one, so a function that answers `requirements: {}` is
 * called twice too. Maps compare by content, not by order.
 *
 * Only the fetching is simulated (from a list of objects standing for the
 * cluster); every call goes to a real server over gRPC, encoded with the
 * SDK's codec as Crossplane's protobuf would be.
 */
import {
  RunFunctionRequest,
  RunFunctionResponse,
  ResourceSelector,
  SchemaSelector,
  Severity,
  type Requirements,
  type Resources,
} from '@crossplane-org/function-sdk-typescript';

export type KubeObject = Record<string, any>;

/** Crossplane's MaxRequirementsIterations: the function is called at most this many times plus one. */
export const MAX_REQUIREMENTS_ITERATIONS = 5;

/** Sends one encoded RunFunctionRequest and resolves with the encoded answer. */
export type Caller = (request: Buffer) => Promise<Buffer>;

export interface LoopCall {
  /** Required resources this call carried: requirement name -> items found (0: not found). */
  sent: Record<string, number>;
  /** What the answer asked for (resources, extra resources, schemas), by requirement name; empty if nothing. */
  asked: string[];
  requestBytes: number;
  responseBytes: number;
  fatal?: string;
}

export interface LoopResult {
  calls: LoopCall[];
  /** stable: the answer's requirements equal the previous ones (or both absent); fatal: a Fatal result; limit: never stabilized. */
  stopped: 'stable' | 'fatal' | 'limit';
  /** The last answer, the one Crossplane would use (none when it gave up: Crossplane then fails the reconcile). */
  response?: RunFunctionResponse;
  /** Every request sent, in order (decoded as the server decoded it). */
  requests: RunFunctionRequest[];
}

function sortedJson(value: unknown): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, norm((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(norm(value));
}

/** proto.Equal for two Requirements as decoded by the SDK (undefined: the field was absent). */
export function sameRequirements(a: Requirements | undefined, b: Requirements | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const canonical = (r: Requirements) =>
    sortedJson({
      extraResources: Object.fromEntries(Object.entries(r.extraResources ?? {}).map(([k, s]) => [k, ResourceSelector.toJSON(s)])),
      resources: Object.fromEntries(Object.entries(r.resources ?? {}).map(([k, s]) => [k, ResourceSelector.toJSON(s)])),
      schemas: Object.fromEntries(Object.entries(r.schemas ?? {}).map(([k, s]) => [k, SchemaSelector.toJSON(s)])),
    });
  return canonical(a) === canonical(b);
}

/**
 * What Crossplane's ExistingRequiredResourcesFetcher returns: by name, the one
 * object with that apiVersion, kind, namespace and name (no items when there
 * is none); by labels, every match in the namespace (or all namespaces),
 * sorted by namespace/name.
 */
export function fetch(cluster: KubeObject[], selector: ResourceSelector): Resources {
  const sameKind = cluster.filter((o) => o?.apiVersion === selector.apiVersion && o?.kind === selector.kind);
  const toItem = (resource: KubeObject) => ({ resource, connectionDetails: {}, ready: 0 });
  if (selector.matchName !== undefined) {
    const found = sameKind.find((o) => o.metadata?.name === selector.matchName && (o.metadata?.namespace ?? '') === (selector.namespace ?? ''));
    return { items: found ? [toItem(found)] : [] } as unknown as Resources;
  }
  const labels = selector.matchLabels?.labels ?? {};
  const matches = sameKind
    .filter((o) => !selector.namespace || o.metadata?.namespace === selector.namespace)
    .filter((o) => Object.entries(labels).every(([k, v]) => o.metadata?.labels?.[k] === v))
    .sort((x, y) => `${x.metadata?.namespace ?? ''}/${x.metadata?.name}`.localeCompare(`${y.metadata?.namespace ?? ''}/${y.metadata?.name}`));
  return { items: matches.map(toItem) } as unknown as Resources;
}

function asked(r: Requirements | undefined): string[] {
  if (!r) return [];
  return [
    ...Object.keys(r.resources ?? {}),
    ...Object.keys(r.extraResources ?? {}).map((k) => `${k} (extra)`),
    ...Object.keys(r.schemas ?? {}).map((k) => `${k} (schema)`),
  ];
}

/** One reconcile's calls of one function, as Crossplane makes them. */
export async function reconcile(call: Caller, first: RunFunctionRequest, cluster: KubeObject[]): Promise<LoopResult> {
  const bootstrapResources = { ...(first.requiredResources ?? {}) };
  const bootstrapSchemas = { ...(first.requiredSchemas ?? {}) };
  const calls: LoopCall[] = [];
  const requests: RunFunctionRequest[] = [];
  let previous: Requirements | undefined;
  let req = first;
  for (let i = 0; i <= MAX_REQUIREMENTS_ITERATIONS; i++) {
    const bytes = Buffer.from(RunFunctionRequest.encode(req).finish());
    requests.push(RunFunctionRequest.decode(bytes));
    const answer = await call(bytes);
    const rsp = RunFunctionResponse.decode(answer);
    const fatal = rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.message;
    calls.push({
      sent: Object.fromEntries(Object.entries(req.requiredResources ?? {}).map(([k, v]) => [k, v?.items?.length ?? 0])),
      asked: asked(rsp.requirements),
      requestBytes: bytes.length,
      responseBytes: answer.length,
      ...(fatal ? { fatal } : {}),
    });
    if (fatal) return { calls, stopped: 'fatal', response: rsp, requests };
    if (sameRequirements(rsp.requirements, previous)) return { calls, stopped: 'stable', response: rsp, requests };
    previous = rsp.requirements;
    const wanted = rsp.requirements!;
    req = {
      ...req,
      extraResources: Object.fromEntries(Object.entries(wanted.extraResources ?? {}).map(([k, s]) => [k, fetch(cluster, s)])),
      requiredResources: { ...bootstrapResources, ...Object.fromEntries(Object.entries(wanted.resources ?? {}).map(([k, s]) => [k, fetch(cluster, s)])) },
      // Schemas come from the API server's CRDs, which this simulation does not have: sent as not found.
      requiredSchemas: { ...bootstrapSchemas, ...Object.fromEntries(Object.keys(wanted.schemas ?? {}).map((k) => [k, { openapiV3: undefined }])) },
      context: rsp.context,
    };
  }
  return { calls, stopped: 'limit', requests };
}

/** "asked role-connection-secret; sent it (1 found), asked the same: stable" as a short trace. */
export function describeCalls(r: LoopResult): string {
  const parts = r.calls.map((c, i) => {
    const sent = Object.entries(c.sent).map(([k, n]) => `${k} (${n ? `${n} found` : 'not found'})`);
    const got = c.fatal ? 'Fatal' : c.asked.length ? `asked ${c.asked.join(', ')}` : 'asked nothing';
    return `${i + 1}: ${sent.length ? `sent ${sent.join(', ')}, ` : ''}${got}`;
  });
  return `${parts.join('; ')} -> ${r.stopped === 'stable' ? 'requirements stable' : r.stopped === 'fatal' ? 'stopped at the Fatal' : 'did not stabilize (Crossplane errors)'}`;
}
