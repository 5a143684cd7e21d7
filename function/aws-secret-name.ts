/**
 * The name of a login's AWS Secrets Manager secret.
 *
 * A claim deleted and created again under the same name would want the name
 * its predecessor had, which is still taken: kept by an Orphan policy, or in
 * its recovery window after a Delete (AWS refuses to create a secret whose
 * name is scheduled for deletion). Adopting the kept secret is not possible
 * from here: the AWS provider knows a Secret by its ARN, which ends in a
 * random suffix only AWS knows. So each TenantDatabase instance names its
 * secret after itself: the platform's template, then the first 8 hex digits
 * of the XR's uid (stable for the life of the XR, different for the next one
 * of the same name). Not 6 characters: AWS warns that a name ending in a
 * hyphen and six characters is confused with an ARN's own suffix.
 *
 * Nothing that exists is renamed: a login whose secret is observed keeps the
 * name it has (tenants created before this rule keep the bare template name,
 * and their reader follows it). Without a uid (crossplane render of an XR
 * file without one) the bare template name is used.
 */
import type { LoginOwner } from './composed.js';

/** The observed Secrets Manager Secret names, by login. */
export type ObservedAwsSecretNames = Partial<Record<LoginOwner, string>>;

const UID = /^[0-9a-f]{8}-?[0-9a-f]{4}/;
const READER_SUFFIX = '-readonly';

/** The base name of this instance: the template's, or the template's plus the XR's uid prefix. */
function instanceBase(templateName: string, observed: ObservedAwsSecretNames, uid: string | undefined): string {
  const tenant = observed.tenant;
  if (tenant !== undefined) return tenant;
  const reader = observed.reader;
  if (reader !== undefined && reader.endsWith(READER_SUFFIX)) return reader.slice(0, -READER_SUFFIX.length);
  return uid !== undefined && UID.test(uid) ? `${templateName}-${uid.slice(0, 8)}` : templateName;
}

export function awsSecretName(templateName: string, owner: LoginOwner, observed: ObservedAwsSecretNames, uid: string | undefined): string {
  const kept = observed[owner];
  if (kept !== undefined) return kept;
  const base = instanceBase(templateName, observed, uid);
  return owner === 'reader' ? `${base}${READER_SUFFIX}` : base;
}
