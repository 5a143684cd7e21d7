#!/usr/bin/env bash
# Builds the throwaway control plane for `npm run test:e2e`: kube-apiserver
# (k8s.io/kubernetes, pinned in e2e/go.mod) and a minimal embedded etcd
# (e2e/etcd), from the Go module proxy, into a cache OUTSIDE the repo:
#
#   ${E2E_CACHE:-$HOME/.cache/tenantdb-e2e}/<version>/{kube-apiserver,etcd}
#
# <version> names the kubernetes and etcd versions plus a hash of go.mod,
# go.sum and the etcd source, so any change builds afresh into a new folder.
# When both binaries are already there it builds nothing. The Go module and
# build caches stay the go command's defaults, so they are reused too.
#
# Prints the binaries' folder as the last line on stdout (progress goes to
# stderr).  --print-dir prints it without building.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

# The go command's default caches (and ours) live under $HOME.
if [ -z "${HOME:-}" ]; then HOME=$(getent passwd "$(id -u)" | cut -d: -f6); export HOME; fi
command -v go >/dev/null || { echo "e2e/build.sh: the go command is required (Go >= 1.26)" >&2; exit 1; }

k8s=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' go.mod)
etcd=$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ { print $2; exit }' go.mod)
hash=$(cat go.mod go.sum etcd/main.go | sha256sum | cut -c1-12)
version="kubernetes-${k8s}-etcd-${etcd}-${hash}"
out="${E2E_CACHE:-$HOME/.cache/tenantdb-e2e}/${version}"

if [ "${1:-}" = "--print-dir" ]; then
  echo "$out"
  exit 0
fi

if [ -x "$out/kube-apiserver" ] && [ -x "$out/etcd" ]; then
  echo "e2e/build.sh: using cached binaries in $out" >&2
  echo "$out"
  exit 0
fi

mkdir -p "$out"
export CGO_ENABLED=0
# go.mod and go.sum are complete (go mod tidy), so the default -mod=readonly
# works and a build never rewrites them; GOFLAGS from the caller is honoured.
minor=${k8s#v1.}; minor=${minor%%.*}
ldflags="-s -w \
  -X k8s.io/component-base/version.gitVersion=${k8s} \
  -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=${minor} \
  -X k8s.io/component-base/version.gitTreeState=clean"

start=$(date +%s)
echo "e2e/build.sh: building etcd ${etcd} and kube-apiserver ${k8s} into $out ($(go version))" >&2
# Build into temporary names and rename, so an interrupted build never leaves
# a half-written binary that a later run would take as cached.
go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp.$$" ./etcd
mv -f "$out/etcd.tmp.$$" "$out/etcd"
go build -trimpath -ldflags "$ldflags" -o "$out/kube-apiserver.tmp.$$" k8s.io/kubernetes/cmd/kube-apiserver
mv -f "$out/kube-apiserver.tmp.$$" "$out/kube-apiserver"
echo "e2e/build.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$out"
