#!/usr/bin/env bash
# Builds the tools `npm run test:monitoring` runs, from the Go module proxy,
# into a cache OUTSIDE the repo (like e2e/build.sh):
#
#   ${MONITORING_CACHE:-$HOME/.cache/tenantdb-monitoring}/<version>/{promtool,kube-state-metrics}
#
# <version> names both tool versions (pinned below), so changing one builds
# afresh into a new folder; when both binaries are there it builds nothing.
# `go install pkg@version` checks every module against the Go checksum
# database, so the pins below are all that is needed to reproduce a build.
# Prints the binaries' folder as the last line on stdout (progress on
# stderr); --print-dir prints it without building.
set -euo pipefail

PROMETHEUS=v0.316.0          # github.com/prometheus/prometheus: promtool of Prometheus 3.x
KUBE_STATE_METRICS=v2.20.0   # k8s.io/kube-state-metrics/v2

if [ -z "${HOME:-}" ]; then HOME=$(getent passwd "$(id -u)" | cut -d: -f6); export HOME; fi
out="${MONITORING_CACHE:-$HOME/.cache/tenantdb-monitoring}/prometheus-${PROMETHEUS}-ksm-${KUBE_STATE_METRICS}"

if [ "${1:-}" = "--print-dir" ]; then
  echo "$out"
  exit 0
fi
if [ -x "$out/promtool" ] && [ -x "$out/kube-state-metrics" ]; then
  echo "monitoring/tools/build.sh: using cached binaries in $out" >&2
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "monitoring/tools/build.sh: the go command is required (Go >= 1.26)" >&2; exit 1; }

mkdir -p "$out"
export CGO_ENABLED=0
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
echo "monitoring/tools/build.sh: building promtool ${PROMETHEUS} and kube-state-metrics ${KUBE_STATE_METRICS} into $out ($(go version))" >&2
# Run outside any module, so no go.mod around us can change what gets built.
# Build into a temporary folder and rename, so an interrupted build never leaves
# a half-written binary that a later run would take as cached.
(cd "$tmp" && GOBIN="$tmp" GOFLAGS= go install -trimpath -ldflags "-s -w" "github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS}")
mv -f "$tmp/promtool" "$out/promtool"
(cd "$tmp" && GOBIN="$tmp" GOFLAGS= go install -trimpath -ldflags "-s -w" "k8s.io/kube-state-metrics/v2@${KUBE_STATE_METRICS}")
mv -f "$tmp/kube-state-metrics" "$out/kube-state-metrics"
echo "monitoring/tools/build.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$out"
