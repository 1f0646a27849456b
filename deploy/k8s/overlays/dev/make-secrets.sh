#!/usr/bin/env bash
# Creates the Secrets the dev overlay references, with fresh random values, in namespace
# as2bus-dev (NAMESPACE overrides). Run once, from the repository root, before
# `kubectl apply -k deploy/k8s/overlays/dev`. Needs kubectl, openssl and uv.
# Nothing secret is ever written to the repository: the values go straight to the cluster.
set -euo pipefail
ns=${NAMESPACE:-as2bus-dev}
rand() { openssl rand -hex 24; }  # hex: safe inside nats:// and postgresql:// URLs
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -

# Master key, as `as2bus keygen` prints it (key AS2BUS_MASTER_KEY).
kubectl -n "$ns" create secret generic as2bus-common --from-env-file=<(uv run --frozen as2bus keygen)

# One API token per scope (admin ⊇ operate ⊇ read). The services get only their SHA-256 digests
# (as2bus-api-token-hashes); each client gets the one token it needs: as2bus-api-token-read for a
# dashboard, -operate for a console, -admin for whoever configures partners and keys.
hashes=()
for scope in read operate admin; do
  token=$(rand)
  kubectl -n "$ns" create secret generic "as2bus-api-token-$scope" --from-literal=token="$token"
  hashes+=(--from-literal="$scope=sha256:$(printf %s "$token" | sha256sum | cut -d' ' -f1)")
done
kubectl -n "$ns" create secret generic as2bus-api-token-hashes "${hashes[@]}"

pg=$(rand)
kubectl -n "$ns" create secret generic as2bus-postgres --from-literal=password="$pg"

# One NATS user per service (permissions in deploy/k8s/base/nats/nats.conf), plus `app` for
# your systems, `admin` for operators (backups) and `sys` for the system account.
users=(--from-literal=app="$(rand)" --from-literal=admin="$(rand)" --from-literal=sys="$(rand)")
for svc in config cert inbound outbound tracklog console notify; do
  pw=$(rand)
  users+=(--from-literal="$svc-svc=$pw")
  kubectl -n "$ns" create secret generic "as2bus-$svc-svc" \
    --from-literal=database-url="postgresql+asyncpg://as2bus:$pg@postgres:5432/as2bus_$svc" \
    --from-literal=nats-url="nats://$svc-svc:$pw@nats:4222"
done
kubectl -n "$ns" create secret generic as2bus-nats-users "${users[@]}"
echo "Secrets created in $ns. The admin API token (read and operate: as2bus-api-token-read/-operate):"
echo "  kubectl -n $ns get secret as2bus-api-token-admin -o jsonpath='{.data.token}' | base64 -d"
