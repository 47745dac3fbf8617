#!/usr/bin/env bash
# Every test, on a fresh machine or a used one (run as root): installs what is
# missing, clears any lab an earlier run left behind, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/mzops -q lab down || true
exec .venv/bin/pytest -ra "$@"
