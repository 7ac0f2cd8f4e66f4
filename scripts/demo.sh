#!/usr/bin/env bash
# Runs the demo: a throwaway slapd, a generated UONET database, one sync, its summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/provisioner demo "$@"
