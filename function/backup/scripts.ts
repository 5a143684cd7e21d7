/**
 * The POSIX sh scripts the backup CronJob and the restore Job run, inline in
 * the container's args (`sh -c <script> <name>`), never baked into the image:
 * the image only has to provide sh, pg_dump, pg_restore, psql and aws, and a
 * change to a script ships with the function, not with a new image.
 *
 * The scripts are constants. Nothing from a claim or from the function input
 * is ever pasted into them: every setting reaches them as an environment
 * variable (see BACKUP_ENV / RESTORE_ENV), so claim text can never become
 * shell code, and the same container spec runs by hand outside Kubernetes
 * (docs/backups.md). Database settings are libpq's own variables (PGHOST,
 * PGPORT, PGUSER, PGPASSWORD, PGDATABASE) taken from `<name>-secret`; the
 * scripts never print them except host, port, user and database names, and
 * never run with `set -x`.
 *
 * Each failure has its own exit code (EXIT_CODES), which the Job's
 * podFailurePolicy turns into a Job condition the function can read
 * (settings.ts restoreOutcome), and which the script also writes to the
 * container's termination message.
 */

/** Exit codes of both scripts. Kept apart from the shell's own (1, 2, 126, 127, >128). */
export const EXIT_CODES = {
  /** A required environment variable is missing or malformed (a rendering or hand-run mistake). */
  CONFIG: 10,
  /** psql could not connect to the tenant database, or the first query failed. */
  DATABASE_UNREACHABLE: 11,
  /** pg_dump failed; the partial object it left was removed. */
  DUMP_FAILED: 12,
  /** The upload to S3 failed or the object is not there afterwards. */
  UPLOAD_FAILED: 13,
  /** The backup is stored, but old backups could not be listed or deleted. */
  RETENTION_FAILED: 14,
  /** Restore: no backup of the source tenant (latest), or not the one named. */
  BACKUP_NOT_FOUND: 20,
  /** Restore: the target database already holds tables or other objects; nothing was changed. */
  TARGET_NOT_EMPTY: 21,
  /** Restore: the backup could not be downloaded, or is not a pg_dump custom archive. */
  DOWNLOAD_FAILED: 22,
  /** Restore: pg_restore failed; its single transaction was rolled back, the database is as it was. */
  RESTORE_FAILED: 23,
} as const;

export type ExitCodeName = keyof typeof EXIT_CODES;

/** What each exit code means, for status messages and docs. */
export const EXIT_CODE_MEANINGS: Record<number, { name: ExitCodeName; meaning: string; retry: boolean }> = {
  [EXIT_CODES.CONFIG]: { name: 'CONFIG', meaning: 'a required setting is missing or malformed', retry: false },
  [EXIT_CODES.DATABASE_UNREACHABLE]: { name: 'DATABASE_UNREACHABLE', meaning: 'the tenant database could not be reached with the credentials in the tenant Secret', retry: true },
  [EXIT_CODES.DUMP_FAILED]: { name: 'DUMP_FAILED', meaning: 'pg_dump failed; the partial object was removed', retry: true },
  [EXIT_CODES.UPLOAD_FAILED]: { name: 'UPLOAD_FAILED', meaning: 'the upload to S3 failed', retry: true },
  [EXIT_CODES.RETENTION_FAILED]: { name: 'RETENTION_FAILED', meaning: 'the backup is stored, but old backups could not be pruned', retry: false },
  [EXIT_CODES.BACKUP_NOT_FOUND]: { name: 'BACKUP_NOT_FOUND', meaning: 'the backup to restore does not exist', retry: false },
  [EXIT_CODES.TARGET_NOT_EMPTY]: { name: 'TARGET_NOT_EMPTY', meaning: 'the target database already holds data; nothing was restored or changed', retry: false },
  [EXIT_CODES.DOWNLOAD_FAILED]: { name: 'DOWNLOAD_FAILED', meaning: 'the backup could not be downloaded or is not a pg_dump custom archive', retry: true },
  [EXIT_CODES.RESTORE_FAILED]: { name: 'RESTORE_FAILED', meaning: 'pg_restore failed and was rolled back; the database is as it was', retry: false },
};

/** Exit codes that no retry can fix: the Job fails at once (podFailurePolicy FailJob). */
export const NON_RETRYABLE_EXIT_CODES: number[] = Object.entries(EXIT_CODE_MEANINGS)
  .filter(([, v]) => !v.retry)
  .map(([code]) => Number(code))
  .sort((a, b) => a - b);

/** Environment the backup script reads (besides PG* and the AWS SDK's own). */
export const BACKUP_ENV = {
  bucket: 'BACKUP_BUCKET',
  /** This tenant's key prefix, ending in '/': `<prefix>/<namespace>/<name>/`. */
  prefix: 'BACKUP_PREFIX',
  retentionDays: 'BACKUP_RETENTION_DAYS',
  /** AES256 or aws:kms. */
  sse: 'BACKUP_SSE',
  /** Optional KMS key id/ARN/alias, with aws:kms only. */
  sseKmsKeyId: 'BACKUP_SSE_KMS_KEY_ID',
} as const;

/** Environment the restore script reads (besides PG* and the AWS SDK's own). */
export const RESTORE_ENV = {
  bucket: 'RESTORE_BUCKET',
  /** The source tenant's key prefix, ending in '/'. */
  prefix: 'RESTORE_PREFIX',
  /** `latest`, or a backup's name: `YYYYMMDDTHHMMSSZ.dump` (the `.dump` may be left out). */
  backup: 'RESTORE_BACKUP',
  /**
   * The tenant role, which owns everything restored whichever login runs the restore (in
   * Alternating mode `<name>-secret` names `<role>_la` or `<role>_lb`, members of it).
   */
  ownerRole: 'RESTORE_OWNER_ROLE',
} as const;

/** The tenant database's comment once a restore has succeeded: this text, then the backup's key. */
export const RESTORED_MARKER = 'tenantdb-restored: ';

/**
 * A template tag for shell text: raw (backslashes stay as written), with `$\{`
 * standing for the shell's `\${`, since a template literal would take `\${...}`
 * for its own placeholder. `\${...}` placeholders are TypeScript constants only.
 */
function sh(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  return String.raw(strings, ...values).replaceAll('$\\{', '${');
}

/** Shared by both scripts: logging, the termination message, the aws wrapper. */
const COMMON = sh`
log() { printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SCRIPT" "$*" >&2; }
# Kubernetes shows the last line written here in the pod's status (terminated.message).
# Written only where the file exists (in a pod), so a run by hand needs no /dev access.
report() {
  if [ -w "$\{TERMINATION_LOG:-/dev/termination-log}" ]; then
    printf '%s\n' "$1" > "$\{TERMINATION_LOG:-/dev/termination-log}" 2>/dev/null || :
  fi
}
die() { code=$1; shift; log "ERROR ($code): $*"; report "exit=$code $*"; exit "$code"; }
# need NAME "$NAME": the value is passed in, so no eval is needed.
need() { [ -n "$2" ] || die ${EXIT_CODES.CONFIG} "environment variable $1 is required"; }
# AWS CLI v1 and v2 read AWS_ENDPOINT_URL themselves since 2023; passing it again
# keeps older CLIs (and any S3-compatible store) working the same way.
s3() {
  if [ -n "$\{AWS_ENDPOINT_URL:-}" ]; then aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; else aws "$@"; fi
}
# A backup's object name: exactly YYYYMMDDTHHMMSSZ.dump (UTC) under the tenant prefix.
is_backup_key() {
  case "$1" in
    "$2"[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z.dump) return 0 ;;
  esac
  return 1
}
# Every backup key under prefix $1, oldest first (the names sort as their times do).
backup_keys() {
  listing=$(s3 s3api list-objects-v2 --bucket "$BUCKET" --prefix "$1" --query 'Contents[].Key' --output text) || return 1
  for k in $(printf '%s\n' "$listing" | tr '\t' '\n'); do
    if is_backup_key "$k" "$1"; then printf '%s\n' "$k"; fi
  done | LC_ALL=C sort
}
# Pass PostgreSQL's libpq variables through, never on a command line.
check_pg() {
  need PGHOST "$\{PGHOST:-}"; need PGPORT "$\{PGPORT:-}"; need PGUSER "$\{PGUSER:-}"; need PGDATABASE "$\{PGDATABASE:-}"
  [ -n "$\{PGPASSWORD:-}" ] || [ -n "$\{PGPASSFILE:-}" ] || die ${EXIT_CODES.CONFIG} "environment variable PGPASSWORD is required"
  case "$PGPORT" in ''|*[!0-9]*) die ${EXIT_CODES.CONFIG} "PGPORT must be a port number" ;; esac
}
`;

/**
 * Backup: pg_dump --format=custom streamed to
 * s3://$BACKUP_BUCKET/$BACKUP_PREFIX<YYYYMMDDTHHMMSSZ>.dump, then retention.
 *
 * POSIX sh has no pipefail: pg_dump's own exit status travels out of the
 * pipeline on file descriptor 3 into a command substitution, while the
 * substitution's status is that of the last command (the upload). A failed
 * pg_dump still ends the stream normally, so the CLI completes the upload:
 * the partial object is removed at once, before anything could take it for
 * a backup. Retention runs only after a verified upload, deletes only keys
 * of the exact backup shape under this tenant's prefix that are older than
 * the retention, and never the newest key nor the one just written.
 */
export const BACKUP_SCRIPT = sh`# -u: a misspelt variable is an error, not an empty string; -f: keys are never globbed.
set -uf
SCRIPT=tenantdb-backup
${COMMON}
check_pg
need ${BACKUP_ENV.bucket} "$\{${BACKUP_ENV.bucket}:-}"
need ${BACKUP_ENV.prefix} "$\{${BACKUP_ENV.prefix}:-}"
need ${BACKUP_ENV.retentionDays} "$\{${BACKUP_ENV.retentionDays}:-}"
BUCKET=$${BACKUP_ENV.bucket}
PREFIX=$${BACKUP_ENV.prefix}
DAYS=$${BACKUP_ENV.retentionDays}
case "$PREFIX" in */) ;; *) die ${EXIT_CODES.CONFIG} "${BACKUP_ENV.prefix} must end in /" ;; esac
case "$DAYS" in ''|*[!0-9]*|0*) die ${EXIT_CODES.CONFIG} "${BACKUP_ENV.retentionDays} must be a whole number of days, at least 1" ;; esac
SSE=$\{${BACKUP_ENV.sse}:-AES256}
case "$SSE" in
  AES256) set -- --sse AES256 ;;
  aws:kms)
    set -- --sse aws:kms
    if [ -n "$\{${BACKUP_ENV.sseKmsKeyId}:-}" ]; then set -- "$@" --sse-kms-key-id "$${BACKUP_ENV.sseKmsKeyId}"; fi ;;
  *) die ${EXIT_CODES.CONFIG} "${BACKUP_ENV.sse} must be AES256 or aws:kms" ;;
esac

# Days since 1970-01-01 of a UTC date (H. Hinnant's days_from_civil), in shell arithmetic:
# no GNU date needed. Arguments are plain decimals (no leading zeros).
days_from_civil() {
  y=$1; m=$2; d=$3
  if [ "$m" -le 2 ]; then y=$((y - 1)); fi
  era=$((y / 400)); yoe=$((y - era * 400))
  if [ "$m" -gt 2 ]; then mp=$((m - 3)); else mp=$((m + 9)); fi
  doy=$(((153 * mp + 2) / 5 + d - 1))
  doe=$((yoe * 365 + yoe / 4 - yoe / 100 + doy))
  echo $((era * 146097 + doe - 719468))
}
dec() { v=$1; while [ "$\{#v}" -gt 1 ] && [ "$\{v#0}" != "$v" ]; do v=$\{v#0}; done; echo "$v"; }
# Seconds since the epoch of a YYYYMMDDTHHMMSSZ stamp.
stamp_seconds() {
  s=$1
  y=$(echo "$s" | cut -c1-4); mo=$(dec "$(echo "$s" | cut -c5-6)"); d=$(dec "$(echo "$s" | cut -c7-8)")
  h=$(dec "$(echo "$s" | cut -c10-11)"); mi=$(dec "$(echo "$s" | cut -c12-13)"); se=$(dec "$(echo "$s" | cut -c14-15)")
  echo $(($(days_from_civil "$y" "$mo" "$d") * 86400 + h * 3600 + mi * 60 + se))
}

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
KEY="$PREFIX$STAMP.dump"
URL="s3://$BUCKET/$KEY"

# One query first: proves the credentials work (a distinct exit code) and sizes the upload,
# so that the CLI picks multipart chunks large enough for databases past 50 GB.
SIZE=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -c 'SELECT pg_database_size(current_database())') ||
  die ${EXIT_CODES.DATABASE_UNREACHABLE} "cannot query database $PGDATABASE on $PGHOST:$PGPORT as $PGUSER"
log "backing up database $PGDATABASE ($SIZE bytes on disk) on $PGHOST:$PGPORT to $URL"

exec 4>&1
DUMP_RC=$( { { pg_dump --format=custom --no-password; echo $? >&3; } |
  s3 s3 cp - "$URL" --only-show-errors --expected-size "$SIZE" "$@" >&4; } 3>&1 )
UPLOAD_RC=$?
exec 4>&-
# The upload first: when it fails early, pg_dump dies of the closed pipe, which is not its fault.
if [ "$UPLOAD_RC" != 0 ]; then
  s3 s3 rm "$URL" --only-show-errors >/dev/null 2>&1 || :
  die ${EXIT_CODES.UPLOAD_FAILED} "upload to $URL failed (aws exit $UPLOAD_RC, pg_dump exit $DUMP_RC)"
fi
if [ "$DUMP_RC" != 0 ]; then
  s3 s3 rm "$URL" --only-show-errors >&2 || log "could not remove the partial object $URL: remove it by hand"
  die ${EXIT_CODES.DUMP_FAILED} "pg_dump failed (exit $DUMP_RC); the partial object was removed"
fi
s3 s3api head-object --bucket "$BUCKET" --key "$KEY" >/dev/null ||
  die ${EXIT_CODES.UPLOAD_FAILED} "$URL is not there after the upload"
log "stored $URL"

KEYS=$(backup_keys "$PREFIX") || die ${EXIT_CODES.RETENTION_FAILED} "backup stored as $URL, but listing s3://$BUCKET/$PREFIX for retention failed"
# A listing without the object just written is not to be trusted with deletions.
printf '%s\n' "$KEYS" | grep -qxF "$KEY" ||
  die ${EXIT_CODES.RETENTION_FAILED} "backup stored as $URL, but it is missing from the listing: nothing pruned"
NEWEST=$(printf '%s\n' "$KEYS" | tail -n 1)
CUTOFF=$(($(stamp_seconds "$STAMP") - DAYS * 86400))
PRUNED=0
FAILED=0
for k in $KEYS; do
  [ "$k" = "$NEWEST" ] && continue
  [ "$k" = "$KEY" ] && continue
  t=$(stamp_seconds "$\{k#"$PREFIX"}")
  if [ "$t" -lt "$CUTOFF" ]; then
    if s3 s3 rm "s3://$BUCKET/$k" --only-show-errors >&2; then
      PRUNED=$((PRUNED + 1)); log "removed s3://$BUCKET/$k (older than $DAYS days)"
    else
      FAILED=$((FAILED + 1))
    fi
  fi
done
[ "$FAILED" = 0 ] || die ${EXIT_CODES.RETENTION_FAILED} "backup stored as $URL, but $FAILED old backups could not be removed"
log "done: $URL stored, $PRUNED old backups removed"
report "stored=$KEY"
`;

/**
 * Restore: resolve the backup (`latest` or a named one) under the source
 * tenant's prefix, refuse unless the target database holds no objects of its
 * own, then stream it into pg_restore in one transaction.
 *
 * "Empty" means: no relation, function, type, operator, large object or the
 * like outside the system schemas that is not part of an extension. Schemas
 * and extensions the claim asks for (spec.schemas, spec.extensions) are
 * created by provider-sql before the restore runs, so they are allowed; the
 * archive's entries for schemas that already exist are left out of the
 * restore list (they would fail with "already exists"), and so are comments
 * on extensions (only the extension's owner, the platform's admin, may set
 * them). Grants are not restored (--no-privileges): they name the source's
 * roles, and a reader of the source tenant must not gain access to the new
 * one; the target's default privileges give its own reader access. Ownership
 * goes to the tenant's role (--no-owner --role=$RESTORE_OWNER_ROLE), not to the
 * login that runs the restore: in Alternating mode that login is one of two
 * members of the tenant role, and what it owned would be out of reach of the
 * other one, of the reader and of pg_dump once the Secret switches.
 *
 * At most once: a restore that succeeded leaves a marker, the database's
 * comment `tenantdb-restored: <key>`, written as the tenant role. A run that
 * finds its target not empty but marked as restored from this source (the same
 * backup, for a named one) has nothing to do: it reports the key and exits 0.
 * That is what makes "done" survive an XR whose status was lost (a control
 * plane restored from a backup): the Job runs again and finds its data there.
 */
export const RESTORE_SCRIPT = sh`# -u: a misspelt variable is an error, not an empty string; -f: keys are never globbed.
set -uf
SCRIPT=tenantdb-restore
${COMMON}
check_pg
need ${RESTORE_ENV.bucket} "$\{${RESTORE_ENV.bucket}:-}"
need ${RESTORE_ENV.prefix} "$\{${RESTORE_ENV.prefix}:-}"
need ${RESTORE_ENV.backup} "$\{${RESTORE_ENV.backup}:-}"
need ${RESTORE_ENV.ownerRole} "$\{${RESTORE_ENV.ownerRole}:-}"
OWNER=$${RESTORE_ENV.ownerRole}
BUCKET=$${RESTORE_ENV.bucket}
PREFIX=$${RESTORE_ENV.prefix}
WANTED=$${RESTORE_ENV.backup}
case "$PREFIX" in */) ;; *) die ${EXIT_CODES.CONFIG} "${RESTORE_ENV.prefix} must end in /" ;; esac
case "$WANTED" in
  latest) ;;
  [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z) WANTED="$WANTED.dump" ;;
  [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z.dump) ;;
  *) die ${EXIT_CODES.CONFIG} "${RESTORE_ENV.backup} must be latest or a backup name such as 20261204T020000Z.dump" ;;
esac
TMP=$\{TMPDIR:-/tmp}

OBJECTS=$(psql -X -A -t -q -v ON_ERROR_STOP=1 <<'SQL'
WITH ext AS (SELECT classid, objid FROM pg_depend WHERE deptype = 'e'),
sys AS (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema', 'pg_toast') OR nspname LIKE 'pg_temp_%' OR nspname LIKE 'pg_toast_temp_%')
SELECT (SELECT count(*) FROM pg_class c WHERE c.relnamespace NOT IN (SELECT oid FROM sys)
          AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid))
     + (SELECT count(*) FROM pg_proc p WHERE p.pronamespace NOT IN (SELECT oid FROM sys)
          AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid))
     + (SELECT count(*) FROM pg_type t WHERE t.typnamespace NOT IN (SELECT oid FROM sys) AND t.typrelid = 0 AND t.typelem = 0
          AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid))
     + (SELECT count(*) FROM pg_operator o WHERE o.oprnamespace NOT IN (SELECT oid FROM sys)
          AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_operator'::regclass AND ext.objid = o.oid))
     + (SELECT count(*) FROM pg_collation co WHERE co.collnamespace NOT IN (SELECT oid FROM sys)
          AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_collation'::regclass AND ext.objid = co.oid))
     + (SELECT count(*) FROM pg_largeobject_metadata)
     + (SELECT count(*) FROM pg_event_trigger)
     + (SELECT count(*) FROM pg_publication);
SQL
) || die ${EXIT_CODES.DATABASE_UNREACHABLE} "cannot query database $PGDATABASE on $PGHOST:$PGPORT as $PGUSER"
case "$OBJECTS" in ''|*[!0-9]*) die ${EXIT_CODES.DATABASE_UNREACHABLE} "unexpected answer from database $PGDATABASE" ;; esac
if [ "$OBJECTS" != 0 ]; then
  MARKER=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -c "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = current_database()") ||
    die ${EXIT_CODES.DATABASE_UNREACHABLE} "cannot query database $PGDATABASE"
  case "$MARKER" in
    "${RESTORED_MARKER}$PREFIX"*)
      DONE=$\{MARKER#"${RESTORED_MARKER}"}
      if [ "$WANTED" = latest ] || [ "$DONE" = "$PREFIX$WANTED" ]; then
        log "database $PGDATABASE already holds the restore of s3://$BUCKET/$DONE: nothing to do"
        report "restored=$DONE"
        exit 0
      fi
      ;;
  esac
  die ${EXIT_CODES.TARGET_NOT_EMPTY} "database $PGDATABASE already holds $OBJECTS objects (tables, functions, types, ...): refusing to restore into a database with data; nothing was changed"
fi

if [ "$WANTED" = latest ]; then
  KEYS=$(backup_keys "$PREFIX") || die ${EXIT_CODES.DOWNLOAD_FAILED} "cannot list s3://$BUCKET/$PREFIX"
  KEY=$(printf '%s\n' "$KEYS" | tail -n 1)
  [ -n "$KEY" ] || die ${EXIT_CODES.BACKUP_NOT_FOUND} "no backup under s3://$BUCKET/$PREFIX"
  # Listing is not reading: say so now, with the CLI's own error, rather than as a bad archive below.
  s3 s3api head-object --bucket "$BUCKET" --key "$KEY" >/dev/null ||
    die ${EXIT_CODES.DOWNLOAD_FAILED} "cannot read s3://$BUCKET/$KEY"
else
  KEY="$PREFIX$WANTED"
  s3 s3api head-object --bucket "$BUCKET" --key "$KEY" >/dev/null 2>&1 ||
    die ${EXIT_CODES.BACKUP_NOT_FOUND} "no backup s3://$BUCKET/$KEY (or it cannot be read)"
fi
URL="s3://$BUCKET/$KEY"
log "restoring $URL into database $PGDATABASE on $PGHOST:$PGPORT as $PGUSER"

# The archive's table of contents is at its start: read it (the CLI's complaint about the
# closed pipe is expected), then leave out what the target already has or may not change.
LIST="$TMP/tenantdb-restore.$$.list"
trap 'rm -f "$LIST" "$LIST.all" "$LIST.schemas"' EXIT
s3 s3 cp "$URL" - 2>/dev/null | pg_restore --list > "$LIST.all" ||
  die ${EXIT_CODES.DOWNLOAD_FAILED} "cannot read $URL as a pg_dump custom archive"
psql -X -A -t -q -v ON_ERROR_STOP=1 -c 'SELECT nspname FROM pg_namespace' > "$LIST.schemas" ||
  die ${EXIT_CODES.DATABASE_UNREACHABLE} "cannot query database $PGDATABASE"
# TOC lines read "<id>; <oid> <oid> <TYPE> <schema> <name> <owner>"; ';' starts a comment.
awk 'NR == FNR { have[$0] = 1; next }
     /^[0-9]+; [0-9]+ [0-9]+ SCHEMA - / && ($6 in have) { print ";" $0; next }
     /^[0-9]+; [0-9]+ [0-9]+ COMMENT - EXTENSION / { print ";" $0; next }
     { print }' "$LIST.schemas" "$LIST.all" > "$LIST" ||
  die ${EXIT_CODES.RESTORE_FAILED} "cannot write the restore list in $TMP"

exec 4>&1
DOWNLOAD_RC=$( { { s3 s3 cp "$URL" - --only-show-errors; echo $? >&3; } |
  pg_restore --no-owner --role="$OWNER" --no-privileges --no-publications --no-subscriptions --no-security-labels \
    --no-tablespaces --single-transaction --exit-on-error --use-list="$LIST" --dbname="$PGDATABASE" >&4; } 3>&1 )
RESTORE_RC=$?
exec 4>&-
if [ "$RESTORE_RC" != 0 ]; then
  die ${EXIT_CODES.RESTORE_FAILED} "pg_restore of $URL failed (exit $RESTORE_RC, download exit $DOWNLOAD_RC); its transaction was rolled back"
fi
if [ "$DOWNLOAD_RC" != 0 ]; then
  die ${EXIT_CODES.DOWNLOAD_FAILED} "download of $URL failed (aws exit $DOWNLOAD_RC)"
fi
log "restored $URL into $PGDATABASE"
# The marker that makes a second run a no-op (see above). Should it fail, the data is there all the
# same; a second run would then refuse as TARGET_NOT_EMPTY, which says what to check.
printf '%s\n' "SET ROLE :\"owner\";" "SELECT format('COMMENT ON DATABASE %I IS %L', current_database(), :'marker') \\gexec" |
  psql -X -q -v ON_ERROR_STOP=1 -v owner="$OWNER" -v marker="${RESTORED_MARKER}$KEY" >/dev/null ||
  log "WARNING: restored, but could not mark database $PGDATABASE as restored from $KEY"
report "restored=$KEY"
`;
