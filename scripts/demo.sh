#!/usr/bin/env bash
# The main job on the lab (run as root): bring up a lab of real SSH hosts with
# databases, then show the lab estate as mzops sees it. `.venv/bin/mzops lab down`
# removes it again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
MZOPS=.venv/bin/mzops
$MZOPS -q lab down || true
$MZOPS lab up --hosts 3 --db
inventory=$($MZOPS lab status --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["inventory"])')
$MZOPS -i "$inventory" inventory list
$MZOPS -i "$inventory" inventory validate
