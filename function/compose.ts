/**
 * The single compose entry point: request in, response out, in one pass.
 *
 *   admit    may this request be served? (admit.ts)       -> the tenant, spec, input
 *   observe  what Crossplane observed, as facts (observe.ts)
 *   plan     every decision, made once (plan.ts)          -> what is composed, and why not yet
 *   render   one object per composed entry (render.ts)
 *   report   desired state, status, condition (report.ts)
 *
 * It is a pure function of the request and the clock it is given (`nowMs`,
 * used for the TTL, ttl.ts, and for the grace period of alternating password
 * rotation, alternation.ts; the server passes Date.now()), with no
 * randomness and no I/O, so the same request at the same instant always
 * yields byte-identical output, and it never throws:
 * any failure becomes a refusal (refusal.ts) with no desired resources at all,
 * so Crossplane applies nothing rather than a partial state that could delete
 * what the tenant has.
 */
import type { RunFunctionRequest, RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { admit } from './admit.js';
import { observe } from './observe.js';
import { makePlan } from './plan.js';
import { ComposeError, refusal } from './refusal.js';
import { render } from './render.js';
import { report } from './report.js';

/** Run the function at `nowMs` (milliseconds since the epoch). Never throws; see the module comment. */
export function compose(req: RunFunctionRequest, nowMs: number): RunFunctionResponse {
  try {
    const admission = admit(req);
    if ('refused' in admission) return refusal(req, admission.refused);
    const facts = observe(req);
    const plan = makePlan(admission.admitted, facts, nowMs);
    return report(req, plan, facts, render(plan), nowMs);
  } catch (error) {
    if (error instanceof ComposeError) return refusal(req, error);
    return refusal(req, { reason: 'InternalError', message: `internal error: ${(error as Error)?.message ?? String(error)}` });
  }
}
