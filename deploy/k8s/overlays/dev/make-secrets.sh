#!/usr/bin/env bash
# Creates the Secrets the dev overlay references, with fresh random values, in namespace
# as2bus-dev (NAMESPACE overrides), before `kubectl apply -k deploy/k8s/overlays/dev`.
# Needs kubectl, openssl and uv (on PATH, or in .tools/bin where `make sync` puts it).
# Run it again at will: it creates only the Secrets that are missing, from the values of those
# that exist (the NATS and PostgreSQL passwords, the API tokens), and never replaces one.
# Nothing secret is ever written to the repository: the values go straight to the cluster.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../../.." && pwd)
ns=${NAMESPACE:-as2bus-dev}
rand() { openssl rand -hex 24; }  # hex: safe inside nats:// and postgresql:// URLs

uv=$(command -v uv || true)
[[ -n $uv ]] || uv=$root/.tools/bin/uv
if [[ ! -x $uv ]]; then
  echo "make-secrets.sh: uv is neither on PATH nor in $root/.tools/bin: run 'make sync' first" >&2
  exit 1
fi

exists() { kubectl -n "$ns" get secret "$1" >/dev/null 2>&1; }
# The value of key $2 of Secret $1, or a fresh random one when the Secret does not exist.
value_or_new() {
  if exists "$1"; then
    kubectl -n "$ns" get secret "$1" -o "jsonpath={.data.$2}" | base64 -d
  else
    rand
  fi
}
create() {  # create secret generic $1 with the rest of the arguments, unless it exists
  local name=$1
  shift
  if exists "$name"; then
    echo "kept $name"
  else
    kubectl -n "$ns" create secret generic "$name" "$@"
  fi
}

kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -

# Master key, as `as2bus keygen` prints it (key AS2BUS_MASTER_KEY). Its line of API tokens is
# left out: the manifests read the tokens from the Secrets per scope below.
if exists as2bus-common; then
  echo "kept as2bus-common"
else
  create as2bus-common --from-env-file=<(
    "$uv" run --project "$root" --frozen --quiet as2bus keygen | grep '^AS2BUS_MASTER_KEY=')
fi

# One API token per scope (admin ⊇ operate ⊇ read). The services get only their SHA-256 digests
# (as2bus-api-token-hashes); each client gets the one token it needs: as2bus-api-token-read for
# a dashboard, -operate for operational tools, -admin for console-svc (it changes partners and
# keys in its operators' names) and whoever configures partners and keys.
hashes=()
for scope in read operate admin; do
  token=$(value_or_new "as2bus-api-token-$scope" token)
  create "as2bus-api-token-$scope" --from-literal=token="$token"
  hashes+=(--from-literal="$scope=sha256:$(printf %s "$token" | sha256sum | cut -d' ' -f1)")
done
create as2bus-api-token-hashes "${hashes[@]}"

pg=$(value_or_new as2bus-postgres password)
create as2bus-postgres --from-literal=password="$pg"

# One NATS user per service (permissions in deploy/k8s/base/nats/nats.conf), plus `app` for
# your systems, `admin` for operators (backups) and `sys` for the system account. The users'
# Secret comes first: the services' URLs below carry its passwords.
users=()
for user in config-svc cert-svc inbound-svc outbound-svc tracklog-svc console-svc notify-svc \
  app admin sys; do
  users+=(--from-literal="$user=$(value_or_new as2bus-nats-users "$user")")
done
create as2bus-nats-users "${users[@]}"
for svc in config cert inbound outbound tracklog console notify; do
  if exists "as2bus-$svc-svc"; then
    echo "kept as2bus-$svc-svc"
    continue
  fi
  pw=$(kubectl -n "$ns" get secret as2bus-nats-users -o "jsonpath={.data.$svc-svc}" | base64 -d)
  create "as2bus-$svc-svc" \
    --from-literal=database-url="postgresql+asyncpg://as2bus:$pg@postgres:5432/as2bus_$svc" \
    --from-literal=nats-url="nats://$svc-svc:$pw@nats:4222"
done
echo "Secrets ready in $ns. The admin API token (read and operate: as2bus-api-token-read/-operate):"
echo "  kubectl -n $ns get secret as2bus-api-token-admin -o jsonpath='{.data.token}' | base64 -d"
