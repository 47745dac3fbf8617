# Sourced by the role's shell steps: psql as the server's superuser over the local
# socket of the cluster on $PORT; SQL on stdin (psql variables are interpolated there).
psql_run() {
  ( cd / && runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@" )
}
# Print the statements a query generates, run them unless in check mode ($DRY).
generate_and_run() {
  sql=$(psql_run "$@")
  [ -n "$sql" ] || return 0
  printf '%s\n' "$sql"
  [ "$DRY" = True ] || printf '%s\n' "$sql" | psql_run
}
