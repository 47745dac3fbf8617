# Included in the role's shell steps: SQL as root over the local socket.
my_client=mariadb; command -v mariadb >/dev/null 2>&1 || my_client=mysql
my_run() { "$my_client" -NB -e "$1"; }
# Print the statements a query generates, run them unless in check mode ($DRY).
generate_and_run() {
  sql=$(my_run "$1")
  [ -n "$sql" ] || return 0
  printf '%s\n' "$sql"
  [ "$DRY" = True ] || my_run "$sql"
}
