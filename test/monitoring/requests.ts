/**
 * Real requests for the function's metrics tests: a first reconcile, a second
 * one carrying the Role's password, two refusals, and one that makes the
 * function ask Crossplane for a Secret. Each uses a tenant name, namespace
 * and passwords that nothing else contains, so a test can prove none of them
 * reaches the metrics.
 */
import { requestFor, SECOND_RECONCILE } from '../../scripts/shared/examples.js';

// Names no other label value could contain by chance, so finding them in the scrape means a leak.
export const TENANT = 'metrics-probe-tenant';
export const NAMESPACE = 'metrics-probe-namespace';
export const REQUIRED_PASSWORD = 'required-pass-4f1c';
/** The password in the examples' Role connection secret (examples/claim/required.yaml). */
export const EXAMPLE_PASSWORD = 'example-generated-p@ss/word';

const renamed = { metadata: { name: TENANT, namespace: NAMESPACE } };

/** A first reconcile of a claim: renders, asks for nothing. */
export const good = () => requestFor({ flavour: 'claim', xr: 'examples/claim/production.yaml', patch: renamed });
/** A second reconcile with the Role's connection details (carries the example password). */
export const secondReconcile = () => requestFor({ flavour: 'claim', xr: 'examples/claim/production.yaml', patch: renamed, ...SECOND_RECONCILE.claim });
/** Refused: an extension the platform does not allow. */
export const notAllowed = () =>
  requestFor({ flavour: 'claim', xr: 'examples/claim/production.yaml', patch: { ...renamed, spec: { extensions: [{ name: 'plpython3u' }] } } });
/** Refused: a spec field of the wrong type. */
export const invalidSpec = () =>
  requestFor({ flavour: 'namespaced', xr: 'examples/namespaced/tenantdatabase.yaml', patch: { ...renamed, spec: { connectionLimit: 'many' } } });
/**
 * A namespaced XR whose observed Role came without connection details: the
 * function asks Crossplane for the Role's connection Secret (and gets it,
 * with a password in it, as Crossplane's second call would carry).
 */
export const withRequirements = () =>
  requestFor({
    flavour: 'namespaced',
    xr: 'examples/namespaced/tenantdatabase.yaml',
    patch: renamed,
    observedPatch: { role: { metadata: { name: `${TENANT}-role` }, status: { conditions: [{ type: 'Ready', status: 'True' }] } } },
    required: {
      'role-connection-secret': [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: `${TENANT}-role-connection`, namespace: NAMESPACE },
          data: { username: 'cm9sZQ==', password: Buffer.from(REQUIRED_PASSWORD).toString('base64'), endpoint: 'ZGIuZXhhbXBsZQ==', port: 'NTQzMw==' },
        },
      ],
    },
  });

