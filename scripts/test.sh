#!/usr/bin/env bash
# Runs the whole test suite (unit tests, then end-to-end tests against a real slapd)
# after installing what it needs. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# PostgreSQL for the database tests, Chromium and its driver for the page tests.
EXTRA_APT="postgresql chromium chromium-driver" bash scripts/bootstrap.sh
.venv/bin/ruff check provisioner tests bench
.venv/bin/lint-imports --no-cache >/dev/null || .venv/bin/lint-imports --no-cache
exec .venv/bin/python -m pytest "$@"
