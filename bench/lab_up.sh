#!/usr/bin/env bash
# Time `mzops lab up` for 3 and 10 hosts, cold (empty root filesystem cache: debootstrap)
# and cached. Needs root. Usage: bench/lab_up.sh [--cold]
set -euo pipefail
cd "$(dirname "$0")/.."
MZOPS=${MZOPS:-.venv/bin/mzops}
export MZOPS_HOME=$(mktemp -d /tmp/mzb-XXXX)
trap '$MZOPS -q lab down >/dev/null 2>&1 || true; rm -rf "$MZOPS_HOME"' EXIT

measure() {  # label, args...
  local label=$1; shift
  $MZOPS -q lab down >/dev/null 2>&1 || true
  local start=$(date +%s.%N)
  $MZOPS -q lab up "$@" >/dev/null
  local end=$(date +%s.%N)
  printf '%-34s %6.1f s\n' "$label" "$(echo "$end - $start" | bc)"
}

if [ "${1:-}" = "--cold" ]; then
  export MZOPS_CACHE=$(mktemp -d /tmp/mzb-cache-XXXX)
  measure "lab up --hosts 3 (cold cache)" --hosts 3
  measure "lab up --hosts 10 (cached)" --hosts 10
  rm -rf "$MZOPS_CACHE"
  export MZOPS_CACHE=$(mktemp -d /tmp/mzb-cache-XXXX)
  measure "lab up --hosts 10 (cold cache)" --hosts 10
  measure "lab up --hosts 3 --db (cold db layer)" --hosts 3 --db
  rm -rf "$MZOPS_CACHE"
  unset MZOPS_CACHE
fi
measure "lab up --hosts 3 (cached)" --hosts 3
measure "lab up --hosts 10 (cached)" --hosts 10
measure "lab up --hosts 20 (cached)" --hosts 20
measure "lab up --hosts 3 --db (cached)" --hosts 3 --db
measure "lab up --hosts 3 --systemd (cached)" --hosts 3 --systemd
measure "lab up --hosts 10 --systemd (cached)" --hosts 10 --systemd
start=$(date +%s.%N); $MZOPS -q lab down; end=$(date +%s.%N)
printf '%-34s %6.1f s\n' "lab down (3 hosts + 2 db)" "$(echo "$end - $start" | bc)"
