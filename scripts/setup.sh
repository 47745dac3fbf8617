#!/usr/bin/env bash
# Install what mzops and its tests need on a fresh Debian 12 machine (run as root):
# system packages for the lab, and a virtualenv in .venv with mzops and test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

# apt-utils (apt-ftparchive), gpg: the lab's package mirror is indexed and signed with them.
# chromium + CJK fonts: the HTML report test renders the report as an evaluator sees it.
# nftables: the nftables vendor module's round trips and the lab firewall use the real nft.
# tar, age, systemd, libarchive13: backups (GNU tar streams, age encryption, systemd-analyze for
# the timer, libarchive reading the streams for the catalogue).
# postgresql-15, mariadb-server, mariadb-backup: database backups and point-in-time restores are
# tested against real servers of the tests' own, on Unix sockets only (the lab's database hosts
# run their own too).
SYSTEM_PACKAGES=(debootstrap apt-utils gpg socat iproute2 openssh-client util-linux zstd bc ca-certificates openssl
                 chromium fonts-noto-cjk nftables tar age systemd libarchive13 postgresql-15
                 mariadb-server mariadb-client mariadb-backup)

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c 'import mzops, pytest, ansible_runner' 2>/dev/null \
   || [ pyproject.toml -nt .venv/.mzops-installed ]; then
  echo "setup: installing Python dependencies into .venv" >&2
  if ! { .venv/bin/pip install -q --disable-pip-version-check -U pip &&
          .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'; } >.venv/pip.log 2>&1; then
    grep -v '^WARNING: Location' .venv/pip.log >&2
    echo "setup: pip install failed (log: .venv/pip.log)" >&2
    exit 1
  fi
  touch .venv/.mzops-installed
fi
