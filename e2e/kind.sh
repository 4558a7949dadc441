#!/usr/bin/env bash
# Installs TokenHub into a kind cluster, for hosts with Docker (the process-based control plane is what CI uses).
#
# Builds the two images, loads them into the kind nodes, installs charts/tokenhub-crds and charts/tokenhub (with
# the chart's throwaway dev Postgres unless TOKENHUB_DATABASE_URL names a real one), applies examples/ into the
# namespace `demo` and prints the first API key. kind runs what the process-based cluster only fakes (kubelets,
# real containers, NetworkPolicies when the CNI enforces them). The node image follows
# e2e/controlplane/versions.env unless TOKENHUB_KIND_NODE_IMAGE says otherwise.
#
# Usage: e2e/kind.sh [up|down]     (default: up)
# Environment:
#   TOKENHUB_KIND_CLUSTER     cluster name (default: tokenhub-e2e)
#   TOKENHUB_KIND_NODE_IMAGE  node image (default: kindest/node:<KUBERNETES_VERSION>)
#   TOKENHUB_NAMESPACE        namespace for the release (default: tokenhub)
#   TOKENHUB_DATABASE_URL     an external Postgres URL; unset: database.embedded=true (dev only, data not kept)
#   TOKENHUB_SKIP_BUILD       set to 1 to use images already loaded
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=controlplane/versions.env
source "$root/e2e/controlplane/versions.env"
name="${TOKENHUB_KIND_CLUSTER:-tokenhub-e2e}"
image="${TOKENHUB_KIND_NODE_IMAGE:-kindest/node:$KUBERNETES_VERSION}"
namespace="${TOKENHUB_NAMESPACE:-tokenhub}"
context="kind-$name"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/pyproject.toml")"

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

if [[ "${TOKENHUB_SKIP_BUILD:-0}" != 1 ]]; then
    docker build -f "$root/Dockerfile.gateway" -t "tokenhub-gateway:$version" "$root"
    docker build -f "$root/Dockerfile.operator" -t "tokenhub-operator:$version" "$root"
fi
kind load docker-image --name "$name" "tokenhub-gateway:$version" "tokenhub-operator:$version"

# 1. CRDs, managed apart from the application (the application chart then skips its own copy).
helm upgrade --install tokenhub-crds "$root/charts/tokenhub-crds" --kube-context "$context" --wait
kubectl --context "$context" wait --for=condition=Established --timeout=60s \
    crd/providers.tokenhub.io crd/models.tokenhub.io crd/routingpolicies.tokenhub.io crd/apikeys.tokenhub.io

# 2. The Secrets the chart reads: the vault password and (with an external Postgres) the database URL.
kubectl --context "$context" create namespace "$namespace" --dry-run=client -o yaml | kubectl --context "$context" apply -f -
kubectl --context "$context" label namespace "$namespace" --overwrite pod-security.kubernetes.io/enforce=restricted
if ! kubectl --context "$context" -n "$namespace" get secret tokenhub-vault >/dev/null 2>&1; then
    kubectl --context "$context" -n "$namespace" create secret generic tokenhub-vault \
        --from-literal=password="$(head -c 32 /dev/urandom | base64)"
fi
database=(--set database.embedded=true)
if [[ -n "${TOKENHUB_DATABASE_URL:-}" ]]; then
    kubectl --context "$context" -n "$namespace" create secret generic tokenhub-db \
        --from-literal=url="$TOKENHUB_DATABASE_URL" --dry-run=client -o yaml | kubectl --context "$context" apply -f -
    database=(--set database.existingSecret.name=tokenhub-db)
fi

# 3. The release: migration hook, gateways, operators.
helm upgrade --install tokenhub "$root/charts/tokenhub" --kube-context "$context" --namespace "$namespace" \
    --skip-crds --set vault.existingSecret.name=tokenhub-vault "${database[@]}" --wait --timeout 5m

# 4. The examples and their first key (Provider credentials: create openai-credentials/anthropic-credentials
#    Secrets in `demo` with an apiKey each, labelled tokenhub.io/provider-credential=true, to reach the real services).
kubectl --context "$context" create namespace demo --dry-run=client -o yaml | kubectl --context "$context" apply -f -
kubectl --context "$context" -n demo apply -f "$root/examples"
kubectl --context "$context" -n demo wait --for=condition=Ready apikey/demo --timeout=120s
echo "first API key: kubectl --context $context -n demo get secret demo-key -o jsonpath='{.data.apiKey}' | base64 -d"
echo "call it: kubectl --context $context -n $namespace port-forward svc/tokenhub 8080:80, then http://127.0.0.1:8080/v1"
