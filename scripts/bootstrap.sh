#!/usr/bin/env bash
# Installs what the demo and the tests need on Debian 12, as root: OpenLDAP's slapd and
# client tools, the build headers of python-ldap, and the project in a virtualenv (.venv).
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(slapd ldap-utils libldap2-dev libsasl2-dev gcc python3-venv python3-dev ${EXTRA_APT:-})
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing the project into .venv" >&2
  # Quiet unless it fails: pip's build chatter would bury the demo's output.
  if ! { .venv/bin/pip install -q --upgrade pip && .venv/bin/pip install -q -e '.[test,postgres]'; } \
      >.venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    exit 1
  fi
  touch "$stamp"
fi
