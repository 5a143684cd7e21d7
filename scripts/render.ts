/**
 * `npm run render -- <claim-or-xr.yaml> [--observed <file>] [--flavour claim|namespaced] [--composition <file>]`
 *
 * What `crossplane render` does, without the Crossplane CLI: start the
 * function, turn a claim into the XR Crossplane would create, call the
 * function over real gRPC with the Composition's input (and the observed
 * resources of a previous reconcile, if given), and print the XR status and
 * the desired resources as a YAML stream. Results go to stderr; a Fatal
 * result exits 1.
 */
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { Severity, Status, type Resource } from '@crossplane-org/function-sdk-typescript';
import { buildRequest, COMPOSITION_RESOURCE_NAME, compositionInput, loadYaml, observedResources, xrFor } from './request.js';
import { connect, startFunction } from './client.js';

const USAGE = 'usage: npm run render -- <claim-or-xr.yaml> [--observed <file>] [--flavour claim|namespaced] [--composition <file>]';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      observed: { type: 'string' },
      flavour: { type: 'string' },
      composition: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const file = positionals[0]!;
  const flavour = values.flavour ?? (/(^|\/)namespaced\//.test(file) ? 'namespaced' : 'claim');
  if (flavour !== 'claim' && flavour !== 'namespaced') throw new Error(`--flavour must be claim or namespaced, got ${flavour}`);
  const [doc] = loadYaml(file);
  if (!doc) throw new Error(`${file}: no YAML document`);
  const [composition] = loadYaml(values.composition ?? `compositions/${flavour}.yaml`);
  const observed = values.observed ? observedResources(loadYaml(values.observed)) : {};
  const request = buildRequest(xrFor(doc, flavour), compositionInput(composition!), observed);

  const fn = await startFunction();
  const client = connect(fn.address);
  try {
    const rsp = await client.run(request);
    for (const r of rsp.results) process.stderr.write(`${Severity[r.severity]}: ${r.message}\n`);
    const docs: unknown[] = [];
    const composite = rsp.desired?.composite?.resource;
    if (composite) {
      const conditions = rsp.conditions.map(({ type, status, reason, message }) => ({ type, status: Status[status], reason, message }));
      const metadata = { name: request.observed?.composite?.resource?.metadata?.name };
      docs.push({ apiVersion: composite.apiVersion, kind: composite.kind, metadata, status: { ...composite.status, conditions } });
    }
    for (const [name, res] of Object.entries(rsp.desired?.resources ?? {}) as [string, Resource][]) {
      const obj = structuredClone(res.resource ?? {});
      obj.metadata = { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [COMPOSITION_RESOURCE_NAME]: name } };
      docs.push(obj);
    }
    process.stdout.write(docs.map((d) => `---\n${stringify(d, { lineWidth: 0 })}`).join(''));
    return rsp.results.some((r) => r.severity === Severity.SEVERITY_FATAL) ? 1 : 0;
  } finally {
    client.close();
    await fn.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`render: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
