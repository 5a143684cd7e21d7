/**
 * How the function says no.
 *
 * A Fatal result stops the pipeline, so Crossplane applies nothing: no partial
 * state can delete what the tenant has. But measured on Crossplane v2.2.4, a
 * Fatal alone reaches only the XR; the claim shows "waiting for composite
 * resource" forever and Argo CD shows Progressing. Crossplane does record the
 * response's conditions and the results listed before the Fatal one, and
 * passes those targeted at composite and claim on to the claim. So every
 * refusal carries the same message three times: a Warning result (an event on
 * the XR and the claim), the Provisioned condition False with a reason naming
 * the class of problem (on both), and the Fatal itself.
 */
import { Severity, Status, Target, type RunFunctionRequest, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';

/** The classes of problem, used as the reason of the Warning event and of the Provisioned condition. */
export type RefusalReason =
  /** A spec field is invalid (the message names it). */
  | 'InvalidSpec'
  /** The XR's name, labels or annotations are not usable. */
  | 'InvalidResource'
  /** Valid, but the platform does not allow it (an extension, adoption, the AWS copy). */
  | 'NotAllowed'
  /** The platform's own settings (the Composition's function input) are invalid. */
  | 'InvalidFunctionInput'
  /** A Secret exists but its password cannot be found: dropping it would lose the credentials. */
  | 'CredentialsUnavailable'
  /** The request itself is malformed (not something a claim author can cause). */
  | 'InvalidRequest'
  | 'InternalError';

/** A refusal: the class of problem, and a message that names the field and what to do. */
export interface Refusal {
  reason: RefusalReason;
  message: string;
}

/** Thrown where a refusal is found deep inside a step; compose turns it into a refusal response. */
export class ComposeError extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

export function fail(reason: RefusalReason, message: string): never {
  throw new ComposeError(reason, message);
}

/** The condition type this function owns (Crossplane owns Ready and Synced). */
export const CONDITION_TYPE = 'Provisioned';
/**
 * How long Crossplane waits before asking again after a refusal. A refusal is
 * fixed by an edit (the claim's spec, the Composition's input), which is a
 * watch event of its own, or clears by itself (CredentialsUnavailable while
 * provider-sql republishes a password): a minute suits both, and does not
 * depend on the function input, which a refusal may not have been able to
 * read. Answers that compose follow the tenant's state instead (ttl.ts).
 */
export const REFUSAL_TTL = { seconds: 60, nanos: 0 };

/** A response that refuses the request: nothing desired, the reason told three ways (see above). */
export function refusal(req: RunFunctionRequest, { reason, message }: Refusal): RunFunctionResponse {
  return {
    meta: { tag: typeof req?.meta?.tag === 'string' ? req.meta.tag : '', ttl: REFUSAL_TTL },
    desired: { composite: undefined, resources: {} },
    results: [
      { severity: Severity.SEVERITY_WARNING, message, reason, target: Target.TARGET_COMPOSITE_AND_CLAIM },
      { severity: Severity.SEVERITY_FATAL, message, reason, target: Target.TARGET_COMPOSITE },
    ],
    context: undefined,
    requirements: undefined,
    conditions: [{ type: CONDITION_TYPE, status: Status.STATUS_CONDITION_FALSE, reason, message, target: Target.TARGET_COMPOSITE_AND_CLAIM }],
    output: undefined,
  };
}
