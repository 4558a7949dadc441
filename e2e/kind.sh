#!/usr/bin/env bash
# Applies crds/ and installs charts/ into a kind cluster, for hosts with Docker (CI uses build.sh instead).
#
# kind gives what the process-based control plane lacks: a controller-manager, a scheduler and kubelets, so pods
# run, ownerReferences are garbage-collected and namespaces finish deleting. The node image follows
# e2e/controlplane/versions.env unless TOKENHUB_KIND_NODE_IMAGE says otherwise.
#
# Usage: e2e/kind.sh [up|down]     (default: up)
# Environment:
#   TOKENHUB_KIND_CLUSTER     cluster name (default: tokenhub-e2e)
#   TOKENHUB_KIND_NODE_IMAGE  node image (default: kindest/node:<KUBERNETES_VERSION>)
#   TOKENHUB_KIND_IMAGES      space-separated local images to load into the nodes before installing charts
#   TOKENHUB_NAMESPACE        namespace for the charts (default: tokenhub)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=controlplane/versions.env
source "$root/e2e/controlplane/versions.env"
name="${TOKENHUB_KIND_CLUSTER:-tokenhub-e2e}"
image="${TOKENHUB_KIND_NODE_IMAGE:-kindest/node:$KUBERNETES_VERSION}"
namespace="${TOKENHUB_NAMESPACE:-tokenhub}"
context="kind-$name"

for tool in docker kind kubectl helm; do
    command -v "$tool" >/dev/null || { echo "kind.sh: $tool is not on PATH" >&2; exit 1; }
done

if [[ "${1:-up}" == "down" ]]; then
    kind delete cluster --name "$name"
    exit 0
fi

if ! kind get clusters | grep -qx "$name"; then
    kind create cluster --name "$name" --image "$image" --wait 180s
fi

for local_image in ${TOKENHUB_KIND_IMAGES:-}; do
    kind load docker-image --name "$name" "$local_image"
done

shopt -s nullglob
crds=("$root"/crds/*.yaml)
if ((${#crds[@]})); then
    for crd in "${crds[@]}"; do
        kubectl --context "$context" apply --server-side -f "$crd"
    done
    kubectl --context "$context" wait --for=condition=Established --timeout=60s crd --all
fi

for chart in "$root"/charts/*/Chart.yaml; do
    dir="$(dirname "$chart")"
    helm upgrade --install "$(basename "$dir")" "$dir" --kube-context "$context" \
        --namespace "$namespace" --create-namespace --wait --timeout 5m
done

echo "kind cluster $name is up: kubectl --context $context get pods -A"
