# my.backup_account (after mysql.sh): the backups' login ACCOUNT (user@host) with exactly
# PRIVILEGES on *.* and nothing else, its password made here and written only to OPTIONS
# (root, 0600). Prints what it changes, or would with DRY=True; never the password, which
# reaches the server on the client's stdin (not argv), out of the binary log (each server
# keeps its own login), and is masked by the audit plugin in what it logs (server_audit
# 1.2.0+ hides the password of CREATE USER, ALTER USER, GRANT and SET PASSWORD).
set -eu
user=${ACCOUNT%@*}; host=${ACCOUNT#*@}
grantee="'$user'@'$host'"
who="SET @g = CONCAT(CHAR(39), '$user', CHAR(39), '@', CHAR(39), '$host', CHAR(39));"
exists=$(my_run "SELECT COUNT(*) FROM mysql.global_priv WHERE user = '$user' AND host = '$host'")
works=
if [ -f "$OPTIONS" ] && [ "$("$my_client" --defaults-extra-file="$OPTIONS" $sock -NBe 'SELECT CURRENT_USER()' 2>/dev/null)" = "$user@$host" ]; then
  works=yes
fi
grants=$(my_run "$who
SELECT CONCAT('REVOKE ', privilege_type, ' ON *.* FROM ', @g, ';') FROM information_schema.user_privileges
 WHERE grantee = @g AND privilege_type <> 'USAGE' AND NOT FIND_IN_SET(privilege_type, '$PRIVILEGES')
UNION ALL SELECT DISTINCT CONCAT('REVOKE ALL PRIVILEGES ON \`', table_schema, '\`.* FROM ', @g, ';')
  FROM information_schema.schema_privileges WHERE grantee = @g
UNION ALL SELECT DISTINCT CONCAT('REVOKE ALL PRIVILEGES ON \`', table_schema, '\`.\`', table_name, '\` FROM ', @g, ';')
  FROM information_schema.table_privileges WHERE grantee = @g")
held=$(my_run "$who SELECT COUNT(*) FROM information_schema.user_privileges
  WHERE grantee = @g AND FIND_IN_SET(privilege_type, '$PRIVILEGES')")
wanted=$(printf '%s\n' "$PRIVILEGES" | tr ',' '\n' | grep -c .)
[ "$held" = "$wanted" ] || grants="$grants
GRANT $(printf '%s' "$PRIVILEGES" | sed 's/,/, /g') ON *.* TO $grantee;"
grants=$(printf '%s\n' "$grants" | grep . || true)
if [ "$exists" = 0 ]; then
  echo "CREATE USER $grantee (its password made here, kept in $OPTIONS)"
elif [ -z "$works" ]; then
  echo "ALTER USER $grantee: a new password (made here, kept in $OPTIONS): the one there does not log in"
fi
[ -z "$grants" ] || printf '%s\n' "$grants"
[ "$DRY" != True ] || exit 0
if [ "$exists" = 0 ] || [ -z "$works" ]; then
  # 24 random characters, then one of each class a password check plugin asks for
  password="$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')Aa1-"
  (umask 077 && printf '[client]\nuser=%s\npassword=%s\n' "$user" "$password" > "$OPTIONS.new")
  chown root:root "$OPTIONS.new" && chmod 0600 "$OPTIONS.new" && mv "$OPTIONS.new" "$OPTIONS"
  verb=ALTER; [ "$exists" != 0 ] || verb=CREATE
  printf "SET SESSION sql_log_bin = 0;\n%s USER %s IDENTIFIED BY '%s';\n" "$verb" "$grantee" "$password" \
    | "$my_client" $sock -NB
fi
[ -z "$grants" ] || { echo "SET SESSION sql_log_bin = 0;"; printf '%s\n' "$grants"; } | "$my_client" $sock -NB
