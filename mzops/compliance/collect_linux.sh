# mzops fact collector for Linux hosts: POSIX sh, read-only, no agent, no Python.
# Usage: sh -s -- NONCE GROUP...   (script on stdin)
# Output: for each section, "NONCE BEGIN name", its output base64-encoded, then
# "NONCE END name rc". Password hashes never leave the host: shadow is reduced to
# the status and algorithm of each entry here.
N=$1; shift
LC_ALL=C; export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH
umask 077
exec 4>&1

sec() {
  name=$1; shift
  printf '%s BEGIN %s\n' "$N" "$name"
  # stdin is this script itself: no section may read it.
  rc=$( { { "$@" </dev/null 2>&1; echo $? >&3; } | base64 >&4; } 3>&1 )
  printf '%s END %s %s\n' "$N" "$name" "$rc"
}

# Each existing regular file of the arguments (globs already expanded) as a section.
files() {
  for f in "$@"; do
    [ -f "$f" ] && sec "file:$f" cat "$f"
  done
}

statlist() {
  for f in "$@"; do
    [ -e "$f" ] && stat -c '%n|%a|%U|%G|%s|%F' "$f"
  done
  return 0
}

shadow_summary() {
  awk -F: '{
    h = $2; state = "password"; algo = ""
    if (h == "") state = "empty"
    else if (h ~ /^!/) { state = "locked"; h = substr(h, 2); sub(/^!*/, "", h) }
    else if (h ~ /^\*/) state = "nologin"
    if (h ~ /^\$/) { split(h, p, "$"); algo = p[2] }
    else if (length(h) == 13) algo = "des"
    if (state == "locked" && h == "") algo = ""
    print $1 ":" state ":" algo ":" $3 ":" $4 ":" $5 ":" $6 ":" $7 ":" $8
  }' /etc/shadow
}

cmd_exists() { command -v "$1" >/dev/null 2>&1; }

# Keys in each account's authorized_keys, as fingerprints with their comments.
authorized_keys() {
  while IFS=: read -r name _ _ _ _ home _; do
    for f in "$home/.ssh/authorized_keys" "$home/.ssh/authorized_keys2"; do
      [ -f "$f" ] || continue
      ssh-keygen -lf "$f" 2>/dev/null | sed "s|^|$name |"
    done
  done < /etc/passwd
  return 0
}

as_user() {  # run a command as another user, without a shell in between
  u=$1; shift
  if cmd_exists runuser; then runuser -u "$u" -- "$@"; else su -s /bin/sh "$u" -c "$*"; fi
}

# SQL of the database engines (lines appended by mzops.engines' host_lines): as
# the server's own superuser over its local socket, in read-only transactions.
# PORT picks the PostgreSQL cluster; US separates fields (never inside a value).
US=$(printf '\037')
pg_sql() {  # from / : postgres may not enter the login user's home (psql would complain)
  ( cd / && as_user postgres env PGOPTIONS='-c default_transaction_read_only=on' \
    psql -XAtq -v ON_ERROR_STOP=1 -F "$US" -p "${PORT:-5432}" -d postgres -c "$1" )
}
my_sql() {
  c=mariadb; cmd_exists mariadb || c=mysql
  $c -NB -e "SET SESSION TRANSACTION READ ONLY; $1"
}

packages() {
  if cmd_exists dpkg-query; then
    dpkg-query -W -f='${Package}\t${Version}\t${db:Status-Abbrev}\n'
  elif cmd_exists rpm; then
    rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\tii \n'
  fi
}

enabled_services() {
  if [ -d /run/systemd/system ] && cmd_exists systemctl; then
    systemctl list-unit-files --no-legend --no-pager --state=enabled 2>/dev/null | awk '{print "systemd " $1}'
  fi
  for d in /etc/systemd/system/*.wants; do
    [ -d "$d" ] && for u in "$d"/*; do [ -e "$u" ] && echo "wants ${u##*/}"; done
  done
  for d in /etc/rc2.d /etc/rc3.d /etc/rc.d/rc3.d; do
    [ -d "$d" ] && for s in "$d"/S*; do [ -e "$s" ] && echo "sysv ${s##*/}"; done
  done
  return 0
}

listening() {
  if cmd_exists ss; then
    ss -H -lntup 2>/dev/null || ss -lntu
  else
    netstat -lntup 2>/dev/null
  fi
}

mac_status() {
  if cmd_exists getenforce; then echo "selinux $(getenforce 2>&1)"; fi
  [ -f /etc/selinux/config ] && sed -n 's/^SELINUX=/selinux_config /p' /etc/selinux/config
  [ -r /sys/module/apparmor/parameters/enabled ] && echo "apparmor_module $(cat /sys/module/apparmor/parameters/enabled)"
  [ -r /sys/kernel/security/apparmor/profiles ] && echo "apparmor_profiles $(wc -l < /sys/kernel/security/apparmor/profiles)" &&
    echo "apparmor_enforced $(grep -c '(enforce)$' /sys/kernel/security/apparmor/profiles)"
  return 0
}

aide_status() {
  cmd_exists aide && echo "binary $(command -v aide)"
  for db in /var/lib/aide/aide.db /var/lib/aide/aide.db.gz; do [ -f "$db" ] && echo "database $db"; done
  grep -ls 'aide' /etc/crontab /etc/cron.d/* /etc/cron.daily/* /etc/cron.weekly/* \
    /var/spool/cron/crontabs/* /var/spool/cron/* /etc/systemd/system/*.timer 2>/dev/null | sed 's/^/scheduled /'
  for t in /etc/systemd/system/*.wants/*aide*.timer; do [ -e "$t" ] && echo "scheduled $t"; done
  return 0
}

for group in "$@"; do
  case $group in
  os)
    files /etc/os-release
    sec uname uname -r
    ;;
  accounts)
    files /etc/passwd /etc/group /etc/login.defs /etc/default/useradd /etc/shells
    sec shadow shadow_summary
    ;;
  logins)
    sec lastlog lastlog
    sec last last -w -F -i
    sec who who --ips
    sec authorized_keys authorized_keys
    sec today date -u +%Y-%m-%d
    ;;
  pam)
    files /etc/pam.d/* /etc/security/pwquality.conf /etc/security/pwquality.conf.d/* \
      /etc/security/faillock.conf /etc/security/pwhistory.conf /etc/authselect/authselect.conf
    ;;
  sshd)
    sec sshd_t sshd -T
    files /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*
    # the service's command line (-o options win over sshd_config): unit, drop-ins and
    # the environment files it reads, RHEL's crypto policy among them
    files /etc/systemd/system/sshd.service /run/systemd/system/sshd.service \
      /usr/lib/systemd/system/sshd.service /lib/systemd/system/sshd.service \
      /etc/systemd/system/sshd.service.d/*.conf \
      /etc/systemd/system/ssh.service /run/systemd/system/ssh.service \
      /usr/lib/systemd/system/ssh.service /lib/systemd/system/ssh.service \
      /etc/systemd/system/ssh.service.d/*.conf
    files /etc/crypto-policies/back-ends/opensshserver.config /etc/sysconfig/sshd /etc/default/ssh
    ;;
  sudo)
    files /etc/sudoers /etc/sudoers.d/*
    # and what their include lines name elsewhere (sudoers(5), "Including other files")
    for inc in $(sed -n 's/^[#@]include\(dir\)\{0,1\}[[:space:]][[:space:]]*\([^[:space:]]*\).*/\2/p' \
        /etc/sudoers /etc/sudoers.d/* 2>/dev/null); do
      case $inc in /*) ;; *) inc=/etc/$inc ;; esac
      if [ -d "$inc" ]; then [ "$inc" = /etc/sudoers.d ] || files "$inc"/*; else files "$inc"; fi
    done
    ;;
  profile)
    files /etc/profile /etc/profile.d/*.sh /etc/bash.bashrc /etc/bashrc /etc/csh.cshrc
    ;;
  packages)
    sec packages packages
    ;;
  services)
    sec enabled enabled_services
    sec processes ps -eo user=,pid=,comm=,args=
    files /etc/inetd.conf /etc/xinetd.conf /etc/xinetd.d/*
    ;;
  ports)
    sec listening listening
    ;;
  sysctl)
    sec sysctl sysctl -a
    ;;
  audit)
    sec auditctl_s auditctl -s
    sec auditctl_l auditctl -l
    files /etc/audit/auditd.conf /etc/audit/audit.rules /etc/audit/rules.d/*.rules
    ;;
  logs)
    files /etc/rsyslog.conf /etc/rsyslog.d/*.conf /etc/syslog-ng/syslog-ng.conf /etc/syslog-ng/conf.d/*.conf \
      /etc/logrotate.conf /etc/logrotate.d/* /etc/systemd/journald.conf
    sec varlog find /var/log -maxdepth 2 -type f -printf '%p|%m|%u|%g\n'
    ;;
  mac)
    sec mac mac_status
    ;;
  time)
    files /etc/chrony.conf /etc/chrony/chrony.conf /etc/ntp.conf /etc/ntpsec/ntp.conf \
      /etc/chrony/conf.d/* /etc/chrony/sources.d/* /etc/chrony.d/* \
      /etc/systemd/timesyncd.conf /etc/systemd/timesyncd.conf.d/*.conf \
      /run/systemd/timesyncd.conf.d/*.conf /usr/lib/systemd/timesyncd.conf.d/*.conf
    ;;
  aide)
    sec aide aide_status
    ;;
  updates)
    # Only the package managers' folders that exist: a missing one is no failure, an
    # unreadable one is.
    sec pkglists sh -c 'for d in /var/lib/apt/lists /var/cache/dnf /var/cache/yum; do
      [ -d "$d" ] || continue; echo "$d:"; ls "$d" || exit $?; done'
    # how old the lists are: the host's clock, then each signed index, Release (apt) or
    # repomd.xml (dnf, yum), with its modification time (apt: the server's Last-Modified)
    sec listsage sh -c 'date +%s; for d in /var/lib/apt/lists /var/cache/dnf /var/cache/yum; do
      [ -d "$d" ] || continue; find "$d" -maxdepth 6 -type f \( -name "*Release" -o -name repomd.xml \) \
        -printf "%T@ %p\n" || exit $?; done'
    if cmd_exists apt-get; then sec updates apt-get -s -o Debug::NoLocking=1 \
      -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= upgrade
    elif cmd_exists yum; then sec updates yum -q -C updateinfo list security
    fi
    ;;
  stat)
    sec stat statlist /etc/passwd /etc/shadow /etc/group /etc/gshadow /etc/sudoers \
      /etc/sudoers.d /etc/sudoers.d/* /etc/ssh/sshd_config /etc/ssh/ssh_host_*_key \
      /etc/crontab /etc/cron.d /etc/cron.daily /etc/cron.hourly /etc/cron.weekly \
      /etc/cron.monthly /etc/login.defs /etc/security/opasswd /var/log /etc/audit/auditd.conf
    ;;
  esac
  # The group is whole: a file missing from the bundle now means absent on the host.
  sec "group:$group" true
done
