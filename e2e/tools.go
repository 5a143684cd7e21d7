//go:build tools

// Package tools pins the kube-apiserver command into this module, so that
// `go mod tidy` keeps its dependencies and `go build k8s.io/kubernetes/cmd/kube-apiserver`
// works from here.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
