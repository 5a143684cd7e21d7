/**
 * Crossplane's requirements loop (scripts/requirements-loop.ts) against a
 * server over gRPC, to count how many times one reconcile calls the function:
 * every call goes to a real server, encoded with the SDK's codec as
 * Crossplane's protobuf would be, and required resources are fetched from a
 * list of objects standing for the cluster, as Crossplane's
 * ExistingRequiredResourcesFetcher would.
 */
import { RunFunctionRequest, RunFunctionResponse, Severity, type Requirements, type ResourceSelector } from '@crossplane-org/function-sdk-typescript';
import { runWithRequirements } from '../scripts/shared/requirements-loop.js';

export type KubeObject = Record<string, any>;

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

/**
 * What Crossplane's ExistingRequiredResourcesFetcher returns: by name, the one
 * object with that apiVersion, kind, namespace and name (no items when there
 * is none); by labels, every match in the namespace (or all namespaces),
 * sorted by namespace/name.
 */
export function fetch(cluster: KubeObject[], selector: ResourceSelector): KubeObject[] {
  const sameKind = cluster.filter((o) => o?.apiVersion === selector.apiVersion && o?.kind === selector.kind);
  if (selector.matchName !== undefined) {
    const found = sameKind.find((o) => o.metadata?.name === selector.matchName && (o.metadata?.namespace ?? '') === (selector.namespace ?? ''));
    return found ? [found] : [];
  }
  const labels = selector.matchLabels?.labels ?? {};
  return sameKind
    .filter((o) => !selector.namespace || o.metadata?.namespace === selector.namespace)
    .filter((o) => Object.entries(labels).every(([k, v]) => o.metadata?.labels?.[k] === v))
    .sort((x, y) => `${x.metadata?.namespace ?? ''}/${x.metadata?.name}`.localeCompare(`${y.metadata?.namespace ?? ''}/${y.metadata?.name}`));
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
  const calls: LoopCall[] = [];
  const requests: RunFunctionRequest[] = [];
  const result = await runWithRequirements(
    async (req) => {
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
      return rsp;
    },
    first,
    (selector) => fetch(cluster, selector),
  );
  const response = result.stopped === 'limit' ? undefined : result.responses[result.responses.length - 1];
  return { calls, stopped: result.stopped, response, requests };
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
