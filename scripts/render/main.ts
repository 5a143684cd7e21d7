/**
 * `npm run render -- <file.yaml> [flags]`: what `crossplane render` (Crossplane
 * CLI v2.2) prints for a TenantDatabase, without the Crossplane CLI, and for
 * claims too, which crossplane render cannot take.
 *
 * It starts the function (dist/function/main.js), turns a claim into the XR
 * Crossplane would create, calls the function over real gRPC with the
 * Composition's input and the observed resources, and, like Crossplane, calls
 * it again with the resources it requires until its requirements settle. It
 * prints the XR and the composed resources as crossplane render does
 * (render-output.ts). Input is checked first (render-input.ts, spec-check.ts):
 * a run never renders the wrong object, or another XR's resources, into a
 * plausible-looking answer.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Severity, type RunFunctionRequest, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { API_VERSION, CLAIM_KIND, XR_KIND_CLAIM_FLAVOUR } from '../../function/flavour.js';
import { connect, startFunction } from '../shared/client.js';
import { MAX_REQUIREMENTS_ITERATIONS, runWithRequirements } from '../shared/requirements-loop.js';
import { repoPath } from '../shared/paths.js';
import { userDirectory } from '../shared/user-paths.js';
import {
  buildRequest,
  claimToXr,
  CROSSPLANE_CAPABILITIES,
  derivedXrName,
  functionStep,
  observedResources,
  requiredFor,
  type Obj,
} from '../shared/request.js';
import {
  checkObserved,
  checkRequired,
  chooseFlavour,
  InputError,
  ownerOfXr,
  readObjects,
  readTenantDatabase,
  UsageError,
  xrNameOfObserved,
  type Flavour,
} from './input.js';
import { fatalError, renderedComposed, renderedXr, yamlStream } from './output.js';
import { converge, PLACEHOLDER_ENDPOINT, PLACEHOLDER_PASSWORD, withPlaceholderPasswords } from './converge.js';
import { undefinedFields, undefinedInputFields, type ObjectRole } from './spec-check.js';

const USAGE = `usage: npm run -s render -- <file.yaml> [flags]
       node dist/scripts/render/main.js <file.yaml> [flags]

Render one TenantDatabase as crossplane render (Crossplane CLI v2.2) would: run
the function with the Composition's input, print the XR and the composed
resources as YAML on stdout; notes, warnings and errors go to stderr. (npm's
-s keeps npm's own banner out of stdout, so \`> out.yaml\` holds YAML only.)
Files are read as kubectl reads them: YAML 1.1, where off/no/on/yes are booleans.

<file.yaml>   one object: a TenantDatabase (a claim in the claim flavour, the XR
              itself in the namespaced flavour) or an XTenantDatabase (the XR
              of a claim, rendered as it is, as crossplane render takes it)

  --flavour claim|namespaced   how to read a TenantDatabase: as a claim (the
                               default) or as a namespaced XR
  --composition <file>         the Composition to take the function input from
                               (default compositions/<flavour>.yaml); the kind it
                               composes decides how a TenantDatabase is read
  --observed <file|dir>        composed resources observed by a previous
                               reconcile, each with the annotation
                               crossplane.io/composition-resource-name; as in
                               crossplane render they carry no connection details
  --required <file|dir>        resources the function may require, e.g. the
                               Role's connection Secret (crossplane render's
                               --required-resources)
  --converge                   reconcile as Crossplane would on a cluster whose
                               providers make every object ready, until the
                               tenant is whole, and print that last reconcile:
                               every composed object, passwords replaced by
                               PLACEHOLDER-PASSWORD; stderr says how many
                               reconciles it took (not with --observed/--required)
  --strict                     exit 1 after rendering when anything was warned
                               about (a field no schema defines, a Warning result
                               of the function, observed resources nothing ties to
                               this XR): for CI gates
  -h, --help                   this text

Exit status: 0 rendered; 1 the function returned a Fatal result (reported as
crossplane render reports it), an input file was refused, rendering failed, or
--strict and a warning; 2 usage error (unknown flag, no or several files, a bad
--flavour, or flags that contradict each other or the file).`;

/** Paths are the user's: relative to where they ran `npm run render` (npm itself runs scripts from the package root). */
function userPath(path: string): string {
  return resolve(userDirectory('render'), path);
}

const note = (line: string) => process.stderr.write(`render: ${line}\n`);

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        flavour: { type: 'string' },
        composition: { type: 'string' },
        observed: { type: 'string' },
        required: { type: 'string' },
        strict: { type: 'boolean' },
        converge: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // Node's message goes on to explain '--' for positionals; its first sentence says it all.
    throw new UsageError((error as Error).message.split('. ')[0]);
  }
}

function readComposition(path: string, shown: string): Obj {
  const [composition, ...more] = readObjects(path, shown);
  if (!composition || more.length) throw new InputError(`${shown}: must hold exactly one Composition`);
  if (composition.apiVersion !== 'apiextensions.crossplane.io/v1' || composition.kind !== 'Composition') {
    throw new InputError(`${shown}: not a composition: ${composition.kind}/${composition.metadata?.name}`);
  }
  if (composition.spec?.mode !== 'Pipeline') {
    throw new InputError(`${shown}: render only supports Composition Function pipelines: Composition "${composition.metadata?.name}" must use spec.mode: Pipeline`);
  }
  return composition;
}

/** What the API server would make of the object: the fields Crossplane adds differ for claims and XRs. */
function roleOf(doc: Obj, flavour: Flavour): ObjectRole {
  if (doc.kind === XR_KIND_CLAIM_FLAVOUR) return 'legacy-xr';
  return flavour === 'claim' ? 'claim' : 'namespaced-xr';
}

function howRead(doc: Obj, xr: Obj, flavour: Flavour, because: string, compositionShown: string): string {
  const name = `${doc.metadata?.namespace ? `${doc.metadata.namespace}/` : ''}${doc.metadata?.name}`;
  if (doc.kind === XR_KIND_CLAIM_FLAVOUR) return `${doc.kind} ${name} is the XR of a claim (${because}); rendering it as it is with ${compositionShown}`;
  if (flavour === 'claim') return `${doc.kind} ${name} read as a claim (${because}); rendering its ${xr.kind} ${xr.metadata.name} with ${compositionShown}`;
  return `${doc.kind} ${name} read as a namespaced XR (${because}); rendering it with ${compositionShown}`;
}

function selected(selector: Obj): string {
  const where = selector.namespace ? `${selector.namespace}/` : '';
  const which = selector.matchName ?? `labelled ${JSON.stringify(selector.matchLabels?.labels ?? {})}`;
  return `${selector.apiVersion} ${selector.kind} ${where}${which}`;
}

interface StepOutcome {
  rsp: RunFunctionResponse;
  calls: number;
  /** Requirements nothing given matched: "<requirement> (<what it selects>)". */
  unmet: string[];
}

/** One pipeline step as Crossplane runs it (scripts/requirements-loop.ts), fed from the --required files. */
async function runStep(call: (req: RunFunctionRequest) => Promise<RunFunctionResponse>, req: RunFunctionRequest, required: Obj[], step: string): Promise<StepOutcome> {
  const { responses, stopped } = await runWithRequirements(call, req, (selector) => requiredFor(selector, required));
  if (stopped === 'limit') {
    throw new Error(
      `cannot render composite resource: cannot run pipeline step "${step}": ` +
        `requirements didn't stabilize after the maximum number of iterations (${MAX_REQUIREMENTS_ITERATIONS})`,
    );
  }
  const rsp = responses[responses.length - 1]!;
  const unmet = Object.entries(rsp.requirements?.resources ?? {})
    .filter(([, selector]) => requiredFor(selector, required).length === 0)
    .map(([name, selector]) => `${name} (${selected(selector)})`);
  return { rsp, calls: responses.length, unmet };
}

type Values = ReturnType<typeof parse>['values'];

/** Everything a render needs, read from the user's files and checked. */
interface Inputs {
  file: string;
  doc: Obj;
  flavour: Flavour;
  because: string;
  composition: Obj;
  compositionShown: string;
  step: ReturnType<typeof functionStep>;
  observed: Obj[];
  observedShown: string;
  required: Obj[];
  xr: Obj;
  unlabelled: number;
}

function readInputs(file: string, values: Values): Inputs {
  const doc = readTenantDatabase(userPath(file), file);
  const given = values.composition === undefined ? undefined : readComposition(userPath(values.composition), values.composition);
  const { flavour, because } = chooseFlavour(doc.kind, values.flavour, given && { kind: given.spec?.compositeTypeRef?.kind, shown: values.composition! });
  const compositionShown = values.composition ?? `compositions/${flavour}.yaml`;
  const composition = given ?? readComposition(repoPath(compositionShown), compositionShown);
  const typeRef = composition.spec?.compositeTypeRef?.apiVersion;
  if (typeRef !== API_VERSION) {
    throw new UsageError(`${compositionShown}: composition's compositeTypeRef.apiVersion (${typeRef}) does not match XR's apiVersion (${API_VERSION})`);
  }
  let step: ReturnType<typeof functionStep>;
  try {
    step = functionStep(composition);
  } catch (error) {
    throw new InputError(`${compositionShown}: ${(error as Error).message}`);
  }

  const observedShown = values.observed ?? '--observed';
  const observed = values.observed === undefined ? [] : readObjects(userPath(values.observed), values.observed);
  const required = values.required === undefined ? [] : readObjects(userPath(values.required), values.required);
  if (values.required !== undefined) checkRequired(required, values.required);

  const xr = doc.kind === CLAIM_KIND && flavour === 'claim' ? claimToXr(doc, xrNameOfObserved(observed, observedShown) ?? derivedXrName(doc)) : doc;
  const { unlabelled } = checkObserved(observed, ownerOfXr(xr, flavour), observedShown);
  return { file, doc, flavour, because, composition, compositionShown, step, observed, observedShown, required, xr, unlabelled };
}

const didYouMean = (suggestion: string | undefined) => (suggestion ? ` (did you mean ${suggestion}?)` : '');

/** How the file was read, and what in it will not do what its author expects; the number of warnings. */
function explain(i: Inputs): number {
  const warnings: string[] = [];
  note(howRead(i.doc, i.xr, i.flavour, i.because, i.compositionShown));
  for (const field of undefinedFields(i.doc, roleOf(i.doc, i.flavour))) {
    warnings.push(`${i.file}: ${field.path} is not in the XRD's schema; the API server drops it without a word, so it has no effect${didYouMean(field.suggestion)}`);
  }
  for (const field of undefinedInputFields(i.step.input)) {
    warnings.push(
      `${i.compositionShown}: pipeline step "${i.step.step}": ${field.path} is not a field of the function input; the function refuses the input${didYouMean(field.suggestion)}`,
    );
  }
  if (i.unlabelled) {
    warnings.push(`${i.observedShown}: ${i.unlabelled} observed resource(s) carry no crossplane.io/composite label; nothing shows they belong to ${i.xr.metadata.name}`);
  }
  for (const w of warnings) note(`warning: ${w}`);
  const steps = i.composition.spec.pipeline.length;
  if (steps > 1) note(`${i.compositionShown} has ${steps} pipeline steps; only "${i.step.step}" (this function) runs here, crossplane render runs them all`);
  return warnings.length;
}

/** What the run ended with: the exit status so far and how many warnings the function's results added. */
interface Rendered {
  code: number;
  warnings: number;
}

/** Run the function as Crossplane would and print what crossplane render prints. */
async function renderWith(i: Inputs, requiredShown: string | undefined): Promise<Rendered> {
  const observedMap = observedResources(i.observed);
  const request = buildRequest(i.xr, i.step.input, observedMap);
  request.meta!.capabilities = [...CROSSPLANE_CAPABILITIES];

  const fn = await startFunction();
  const client = connect(fn.address);
  try {
    const { rsp, calls, unmet } = await runStep(client.run, request, i.required, i.step.step);
    const fatal = rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL);
    // crossplane render prints other results only with --include-function-results, and drops them on a Fatal;
    // here they are never lost (but one that only repeats the Fatal's message, for the claim's events, is not said twice).
    for (const r of rsp.results.filter((x) => x !== fatal && x.message !== fatal?.message)) note(`${i.step.step}: ${Severity[r.severity]}: ${r.message}`);
    const warnings = rsp.results.filter((r) => r.severity === Severity.SEVERITY_WARNING).length;
    if (fatal) {
      process.stderr.write(`render: error: ${fatalError(i.step.step, fatal.message)}\n`);
      return { code: 1, warnings };
    }
    if (calls > 1) note(`called the function ${calls} times: it required ${Object.keys(rsp.requirements?.resources ?? {}).join(', ')}, as Crossplane does`);
    // Before anything is observed the Role's connection secret cannot exist yet: nothing to point out.
    for (const missing of i.observed.length ? unmet : []) {
      note(`the function required ${missing}: ${requiredShown ? `${requiredShown} holds no such object` : 'pass it with --required <file>'}`);
    }
    process.stdout.write(yamlStream([renderedXr(i.xr, rsp), ...renderedComposed(i.xr, rsp, observedMap)]));
    return { code: 0, warnings };
  } finally {
    client.close();
    await fn.stop();
  }
}

/** --converge: reconcile until whole, print the last reconcile with placeholder passwords. */
async function renderConverged(i: Inputs): Promise<Rendered> {
  const fn = await startFunction();
  const client = connect(fn.address);
  try {
    const done = await converge(client.run, i.xr, i.step.input);
    const warnings = done.response.results.filter((r) => r.severity === Severity.SEVERITY_WARNING);
    for (const r of done.response.results.filter((x) => x.severity !== Severity.SEVERITY_FATAL && x.message !== done.fatal)) note(`${i.step.step}: ${Severity[r.severity]}: ${r.message}`);
    if (done.fatal) {
      process.stderr.write(`render: error: reconcile ${done.reconciles}: ${fatalError(i.step.step, done.fatal)}\n`);
      return { code: 1, warnings: warnings.length };
    }
    if (!done.converged) {
      process.stderr.write(`render: error: --converge: not whole after ${done.reconciles} reconciles (${done.calls} function calls); printing nothing\n`);
      return { code: 1, warnings: warnings.length };
    }
    note(
      `--converge: whole after ${done.reconciles} reconciles (${done.calls} function calls), every composed object ready; ` +
        `passwords shown as ${PLACEHOLDER_PASSWORD}, the server as ${PLACEHOLDER_ENDPOINT}`,
    );
    const docs = [renderedXr(done.xr, done.response), ...renderedComposed(done.xr, done.response, done.observed)];
    process.stdout.write(yamlStream(withPlaceholderPasswords(docs)));
    return { code: 0, warnings: warnings.length };
  } finally {
    client.close();
    await fn.stop();
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`give exactly one file to render, got ${positionals.length}${positionals.length ? `: ${positionals.join(' ')}` : ''}`);
  }
  if (values.converge && (values.observed !== undefined || values.required !== undefined)) {
    throw new UsageError('--converge starts from nothing and makes its own observed and required resources: leave out --observed and --required');
  }
  const inputs = readInputs(positionals[0]!, values);
  const warned = explain(inputs);
  const { code, warnings } = values.converge ? await renderConverged(inputs) : await renderWith(inputs, values.required);
  const total = warned + warnings;
  if (code === 0 && values.strict && total > 0) {
    note(`error: --strict: ${total} warning(s) above; exit status 1`);
    return 1;
  }
  return code;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const usage = error instanceof UsageError;
    process.stderr.write(`render: error: ${(error as Error).message}\n`);
    if (usage) process.stderr.write(`Run with --help for usage.\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
