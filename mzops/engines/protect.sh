# Shared by the engines' `protect` scripts (sourced; uses $service, $changes, $restart,
# $mode): the sysctl a moving service address needs, and the preview / refusal logic.
sysctl_file=/etc/sysctl.d/60-mzops-dr.conf
# A service address that moves between the sites: listened on before it is here.
service_check() {
  if [ -n "$service" ] && { [ "$(cat /proc/sys/net/ipv4/ip_nonlocal_bind)" != 1 ] || [ ! -f "$sysctl_file" ]; }; then
    changes="$changes
change: $sysctl_file: net.ipv4.ip_nonlocal_bind = 1 (listen on the service address $service before it moves here)"
  fi
}
# Print what would change; stop here in check mode; refuse a needed restart without
# --restart (exit 7), before anything is written.
report_or_stop() {
  [ -z "$changes" ] || printf '%s\n' "$changes" | sed '/^$/d'
  [ -z "$restart" ] || echo "restart: needed for$restart"
  [ "$mode" != check ] || exit 0
  if [ -n "$restart" ] && [ "$mode" != apply-restart ]; then
    echo "a restart is needed ($restart): add --restart" >&2; exit 7
  fi
}
service_apply() {
  [ -n "$service" ] || return 0
  printf '%s\n' "# mzops dr (generated): the service address $service may move here" "net.ipv4.ip_nonlocal_bind = 1" > "$sysctl_file"
  sysctl -q -w net.ipv4.ip_nonlocal_bind=1
}
