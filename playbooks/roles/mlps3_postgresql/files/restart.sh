# Controlled restart of the cluster on $PORT (needs psql.sh and validate.sh): validated
# first, restarted by its own tooling (pg_ctlcluster on Debian, systemd elsewhere),
# then waited for until it accepts connections. A server that is down (a restore after
# a failed start) is started without validation: there is nothing left to protect.
set -e
if ( cd / && runuser -u postgres -- pg_isready -q -p "$PORT" ); then
  rejected "$(tls_coming)" || exit 1
fi
if command -v pg_lsclusters >/dev/null; then
  set -- $(pg_lsclusters --no-header | awk -v p="$PORT" '$3 == p {print $1, $2; exit}')
  pg_ctlcluster "$1" "$2" restart
elif [ -d /run/systemd/system ]; then
  systemctl restart postgresql
else
  runuser -u postgres -- pg_ctl -D "$(echo 'SHOW data_directory' | psql_run)" restart -w
fi
i=0
until ( cd / && runuser -u postgres -- pg_isready -q -p "$PORT" ); do
  i=$((i + 1)); [ $i -lt 60 ] || { echo "postgresql did not come back within 30 s" >&2; exit 1; }
  sleep 0.5
done
