# What the server would reject in its files now; exit 1 when anything. The server's own
# parser decides (postgres -C reads every configuration file as a start would, values
# included, without starting); pg_hba_file_rules and pg_ident_file_mappings (15+) show
# the lines it cannot use.
# $1: an error text to tolerate (see tls_coming).
rejected() {
  where=$(echo "SELECT (SELECT setting FROM pg_config WHERE name = 'BINDIR') || '|' ||
                       current_setting('config_file') || '|' || current_setting('data_directory')" | psql_run)
  bin=${where%%|*} rest=${where#*|}
  bad=$( (cd / && runuser -u postgres -- "$bin/postgres" -D "${rest#*|}" -c config_file="${rest%%|*}" \
          -C server_version 2>&1 >/dev/null) | grep -E 'FATAL|ERROR|LOG' || true)
  bad="$bad$(psql_run -F ' ' <<'SQL' | grep -vF "${1:-@@none@@}" || true
SELECT 'pg_hba.conf:' || line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL
SQL
)$(psql_run -F ' ' 2>/dev/null <<'SQL' || true
SELECT 'pg_ident.conf:' || line_number, error FROM pg_ident_file_mappings WHERE error IS NOT NULL
SQL
)"
  [ -z "$bad" ] && return 0
  echo "configuration rejected, not loaded: $bad" >&2
  return 1
}
# The hostssl error to tolerate before a reload that turns TLS on, else nothing.
tls_coming() {
  on=$(echo "SELECT setting FROM pg_file_settings WHERE name = 'ssl' ORDER BY seqno DESC LIMIT 1" | psql_run)
  [ "$(echo 'SHOW ssl' | psql_run)" = off ] && [ "$on" = on ] && echo "because SSL is disabled"
  return 0
}
