set -e
server=$(command -v mariadbd || command -v mysqld || echo /usr/sbin/mysqld)
if ! out=$(runuser -u mysql -- "$server" --help --verbose 2>&1 >/dev/null); then
  echo "options rejected, not restarted: $(echo "$out" | grep -i error | head -3)" >&2; exit 1
fi
unit=mariadb; [ -e /etc/init.d/mariadb ] || [ -e /lib/systemd/system/mariadb.service ] || unit=mysql
if [ -d /run/systemd/system ]; then systemctl restart "$unit"; else /etc/init.d/"$unit" restart >/dev/null; fi
admin=$(command -v mariadb-admin || command -v mysqladmin)
i=0
until "$admin" ping >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -lt 60 ] || { echo "$unit did not come back within 30 s" >&2; exit 1; }
  sleep 0.5
done
