#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, helm and kwok from Go modules
# into a cache outside the repository.
#
# Each binary lives at $TOKENHUB_K8S_CACHE/<component>-<version>/<binary> and is built only when missing,
# so a second run costs nothing. The builder modules (kube/, etcd/, helm/, kwok/) pin every dependency in their
# go.mod and go.sum; versions.env names the versions and must agree with them.
#
# Environment:
#   TOKENHUB_K8S_CACHE   cache root (default: $HOME/.cache/tokenhub-k8s)
#   TOKENHUB_GO_JOBS     parallel compile jobs, go build -p (default: 2)
#   GO                   the go command (default: go on PATH, else /usr/local/go/bin/go)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${TOKENHUB_K8S_CACHE:-$HOME/.cache/tokenhub-k8s}"
jobs="${TOKENHUB_GO_JOBS:-2}"
go_cmd="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"

# shellcheck source=versions.env
source "$here/versions.env"

if [[ ! -x "$go_cmd" ]]; then
    echo "build.sh: no go command found (set GO=/path/to/go); Go >= 1.26 is required" >&2
    exit 1
fi

now() { date +%s; }

# require_version <builder dir> <module> <expected version>
require_version() {
    local found
    found="$(cd "$here/$1" && "$go_cmd" list -m -f '{{.Version}}' "$2")"
    if [[ "$found" != "$3" ]]; then
        echo "build.sh: $1/go.mod pins $2 $found but versions.env says $3" >&2
        exit 1
    fi
}

# build <builder dir> <package> <output path> <ldflags>
build() {
    local dir="$1" pkg="$2" out="$3" ldflags="$4" started
    if [[ -x "$out" ]]; then
        echo "cached  $out"
        return
    fi
    mkdir -p "$(dirname "$out")"
    echo "build   $pkg -> $out"
    started="$(now)"
    (
        cd "$here/$dir"
        CGO_ENABLED=0 GOFLAGS="-mod=readonly" nice -n 15 \
            "$go_cmd" build -p "$jobs" -trimpath -ldflags "$ldflags" -o "$out.partial.$$" "$pkg"
    )
    mv -f "$out.partial.$$" "$out"
    echo "built   $(basename "$out") in $(($(now) - started)) s"
}

require_version kube k8s.io/kubernetes "$KUBERNETES_VERSION"
require_version etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
require_version helm helm.sh/helm/v3 "$HELM_VERSION"
require_version kwok sigs.k8s.io/kwok "$KWOK_VERSION"

kube_dir="$cache/kubernetes-$KUBERNETES_VERSION"
etcd_dir="$cache/etcd-$ETCD_VERSION"
helm_dir="$cache/helm-$HELM_VERSION"
kwok_dir="$cache/kwok-$KWOK_VERSION"

# The version stamps kubernetes' hack/lib/version.sh passes, so /version and kubectl report the real release.
kube_minor="$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    kube_ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
    kube_ldflags+=" -X $pkg.gitTreeState=clean"
done

# helm's Makefile stamps the Kubernetes version it renders for from its client-go; without it, 1.20.
helm_kube_minor="$(cd "$here/helm" && "$go_cmd" list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)"
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$helm_kube_minor"
done

total_started="$(now)"
build etcd go.etcd.io/etcd/server/v3 "$etcd_dir/etcd" "-s -w"
build kube k8s.io/kubernetes/cmd/kube-apiserver "$kube_dir/kube-apiserver" "$kube_ldflags"
build kube k8s.io/kubernetes/cmd/kubectl "$kube_dir/kubectl" "$kube_ldflags"
build helm helm.sh/helm/v3/cmd/helm "$helm_dir/helm" "$helm_ldflags"
build kube k8s.io/kubernetes/cmd/kube-controller-manager "$kube_dir/kube-controller-manager" "$kube_ldflags"
build kube k8s.io/kubernetes/cmd/kube-scheduler "$kube_dir/kube-scheduler" "$kube_ldflags"
# kwok's release version is a constant in its source (pkg/consts.Version), so it needs no stamp.
build kwok sigs.k8s.io/kwok/cmd/kwok "$kwok_dir/kwok" "-s -w"
echo "done in $(($(now) - total_started)) s"
printf '%-24s %s\n' etcd "$etcd_dir/etcd"
printf '%-24s %s\n' kube-apiserver "$kube_dir/kube-apiserver"
printf '%-24s %s\n' kubectl "$kube_dir/kubectl"
printf '%-24s %s\n' helm "$helm_dir/helm"
printf '%-24s %s\n' kube-controller-manager "$kube_dir/kube-controller-manager"
printf '%-24s %s\n' kube-scheduler "$kube_dir/kube-scheduler"
printf '%-24s %s\n' kwok "$kwok_dir/kwok"
