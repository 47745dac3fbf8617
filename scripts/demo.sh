#!/usr/bin/env bash
# The main job on the lab (run as root): bring up real SSH hosts (with databases) in
# two sites, audit them read-only against MLPS level 3 and write the auditor's HTML
# report, then harden one host (preview, apply, verify) and roll it back, and preview
# the hardening of one database host's PostgreSQL and MariaDB; finally push the zone
# policy to the lab's nftables firewall (preview, apply, drift check).
# `.venv/bin/mzops lab down` removes the lab again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
MZOPS=.venv/bin/mzops
$MZOPS -q lab down || true
$MZOPS lab up --hosts 3 --db --firewall
inventory=$($MZOPS lab status --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["inventory"])')
$MZOPS -i "$inventory" inventory list
report="${MZOPS_HOME:-$HOME/.local/state/mzops}/reports/lab-audit.html"
status=0
$MZOPS -i "$inventory" audit run --format html -o "$report" || status=$?
echo "audit exit code $status (0 compliant, 1 findings, 3 unreachable); report: $report"
[ "$status" -le 1 ]
host=$($MZOPS lab status --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["hosts"][0]["name"])')
skip='linux.audit.*,linux.time.sync'   # the lab shares the machine's kernel audit and clock
$MZOPS -i "$inventory" harden run --limit "$host" --skip "$skip"
$MZOPS -i "$inventory" harden run --limit "$host" --skip "$skip" --apply
run_id=$($MZOPS -i "$inventory" harden history --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[0]["run_id"])')
$MZOPS -i "$inventory" harden rollback "$run_id"
# The databases of the first database host: what hardening would change, restarts announced.
$MZOPS -i "$inventory" harden run --limit 'labdb1-*' --restart --disruptive
# The lab firewall between the user and core zones: what it should carry, the change, then no drift.
$MZOPS -i "$inventory" firewall render labfw1
$MZOPS -i "$inventory" firewall push --limit labfw1
$MZOPS -i "$inventory" firewall push --limit labfw1 --apply
$MZOPS -i "$inventory" firewall diff --limit labfw1
