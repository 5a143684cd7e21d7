#!/usr/bin/env bash
# Installs what `npm run test:backup` needs, from scratch, outside the repo:
#
#   - a Python venv at ${TENANTDB_BACKUP_TOOLS:-$HOME/.cache/tenantdb-backup}/venv
#     holding moto's S3 server (moto[server]) and the AWS CLI (awscli), both
#     pinned, so the suite talks to a real S3 API with the real client the
#     backup image ships;
#   - PostgreSQL 15 (server and client) and shellcheck from apt, when missing
#     (apt only as root; otherwise it says what is missing and goes on).
#     Debian bookworm's archive serves no newer PostgreSQL (apt-cache policy
#     postgresql-16 postgresql-17: no candidate, checked 2026-12-08), so the
#     suite dumps PostgreSQL 15 only and simulates a server newer than the
#     client (scripts.backup.test.ts); the backup image ships client 17 from PGDG.
#
# Idempotent: a venv whose pins match is reused (a few seconds). Prints the
# venv's bin folder as its last line; test/backup/tools.ts looks there.
set -euo pipefail

MOTO_VERSION=5.2.6
AWSCLI_VERSION=1.46.3

if [ -z "${HOME:-}" ]; then HOME=$(getent passwd "$(id -u)" | cut -d: -f6); export HOME; fi
root="${TENANTDB_BACKUP_TOOLS:-$HOME/.cache/tenantdb-backup}"
venv="$root/venv"
stamp="$venv/.pins"
want="moto[server]==$MOTO_VERSION awscli==$AWSCLI_VERSION"

missing_apt=""
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing_apt="$missing_apt postgresql-15"
command -v shellcheck >/dev/null 2>&1 || missing_apt="$missing_apt shellcheck"
command -v python3 >/dev/null 2>&1 || missing_apt="$missing_apt python3 python3-venv"
if [ -n "$missing_apt" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-tools: apt-get install$missing_apt" >&2
    apt-get update >&2
    # shellcheck disable=SC2086 # a list of package names
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing_apt >&2
  else
    echo "install-tools: missing$missing_apt (install them with apt-get as root)" >&2
  fi
fi

if [ -x "$venv/bin/aws" ] && [ -x "$venv/bin/moto_server" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "install-tools: using $venv" >&2
else
  echo "install-tools: creating $venv ($want)" >&2
  rm -rf "$venv"
  mkdir -p "$root"
  if ! python3 -m venv "$venv" >&2; then
    # Debian's python3 needs python3-venv for ensurepip.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv >&2
      rm -rf "$venv"
      python3 -m venv "$venv" >&2
    else
      exit 1
    fi
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "moto[server]==$MOTO_VERSION" "awscli==$AWSCLI_VERSION" >&2
  echo "$want" > "$stamp"
fi
echo "$venv/bin"
