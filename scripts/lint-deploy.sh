#!/usr/bin/env bash
# Lints the deployment files, as part of scripts/test.sh (or on its own, from any directory):
#   - Dockerfile: hadolint, failing on warnings too;
#   - k8s/: the rendered production overlay and the base, plus the Secret template, validated
#     with kubernetes-validate --strict (unknown fields are errors).
# The linters come from PyPI, pinned in scripts/requirements.txt, in a virtualenv at
# ${IGW_VENV:-target/ci-venv} (relative to the repository root), which is created once and
# reinstalled only when the pins change. scripts/schemathesis.sh uses the same virtualenv.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/lib.sh

venv="${IGW_VENV:-target/ci-venv}"

command -v kubectl >/dev/null 2>&1 ||
  die "kubectl is required to render the kustomizations (kubectl kustomize); install kubectl >= 1.27"

ensure_venv "$venv"

printf -- '--- hadolint Dockerfile\n'
"$venv/bin/hadolint" --no-color --failure-threshold warning Dockerfile

# Render first (so a kustomize error is reported as such), then validate every resource.
validate_kustomization() {
  local dir="$1" rendered
  printf -- '--- kubernetes-validate --strict (kubectl kustomize %s)\n' "$dir"
  rendered="$(kubectl kustomize "$dir")" || die "kubectl kustomize $dir failed"
  printf '%s\n' "$rendered" | "$venv/bin/kubernetes-validate" --strict -
}

validate_kustomization k8s/overlays/production
validate_kustomization k8s/base

printf -- '--- kubernetes-validate --strict k8s/secret.template.yaml\n'
"$venv/bin/kubernetes-validate" --strict k8s/secret.template.yaml

printf 'deployment lint passed\n'
