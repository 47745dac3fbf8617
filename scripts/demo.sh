#!/usr/bin/env bash
# The main job on the lab (run as root): bring up real SSH hosts (with databases) in
# two sites, then audit them read-only against MLPS level 3 and write the auditor's
# HTML report. `.venv/bin/mzops lab down` removes the lab again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
MZOPS=.venv/bin/mzops
$MZOPS -q lab down || true
$MZOPS lab up --hosts 3 --db
inventory=$($MZOPS lab status --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["inventory"])')
$MZOPS -i "$inventory" inventory list
report="${MZOPS_HOME:-$HOME/.local/state/mzops}/reports/lab-audit.html"
status=0
$MZOPS -i "$inventory" audit run --format html -o "$report" || status=$?
echo "audit exit code $status (0 compliant, 1 findings, 3 unreachable); report: $report"
[ "$status" -le 1 ]
