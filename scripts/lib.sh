# Shared by the scripts in this folder, which `source scripts/lib.sh` from the repository root.

step() { printf '\n==> %s\n' "$*"; }

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# apt-get needs root; use sudo only when we are not root and it exists.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root or sudo to run: $*"
  fi
}

# ensure_venv DIR: the virtualenv DIR with the pinned tools of scripts/requirements.txt. Created
# when missing; pip runs only when the requirements file changed since the last install (the
# marker file names its hash), so re-runs skip pip.
ensure_venv() {
  local venv="$1" requirements=scripts/requirements.txt marker
  marker="$venv/.installed-$(sha256sum "$requirements" | cut -c1-16)"
  if [ ! -x "$venv/bin/python" ]; then
    command -v python3 >/dev/null 2>&1 || die "python3 is required for the virtualenv $venv"
    printf 'creating the virtualenv %s\n' "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" ||
      die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  fi
  if [ ! -f "$marker" ]; then
    printf 'installing %s into %s\n' "$requirements" "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    rm -f "$venv"/.installed-*
    touch "$marker"
  fi
}
