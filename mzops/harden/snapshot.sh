# mzops harden: save what a run may change, show what differs since, restore it.
# POSIX sh + GNU find/tar/coreutils, run as root on the host, read from stdin:
#   sh -s -- save    DIR [C:path ...] [M:path ...] [N:path ...] [S:sysctl.key ...]
#   (C: content, whole tree; M: mode/owner of a tree; N: mode/owner of that path alone)
#   sh -s -- diff    DIR      what differs from the saved state (changes nothing)
#   sh -s -- restore DIR      put the saved state back, one line per action
# DIR keeps content.tar (the C: paths, with owners and modes) and the manifest, one
# '|'-separated line per entry, the path last:
#   root|present|PATH  root|absent|PATH   f|SHA256|MODE|UID|GID|PATH   l|TARGET|PATH
#   d|MODE|UID|GID|PATH   m|MODE|UID|GID|PATH (metadata only)   s|KEY|VALUE (sysctl)
set -u
umask 077
action=$1 dir=$2
shift 2

list_content() {
  find "$1" -xdev -printf '%y|%m|%U|%G|%p|%l\n' 2>/dev/null |
  while IFS='|' read -r type mode uid gid path link; do
    case $type in
      f) echo "f|$(sha256sum < "$path" | cut -d' ' -f1)|$mode|$uid|$gid|$path" ;;
      l) echo "l|$link|$path" ;;
      d) echo "d|$mode|$uid|$gid|$path" ;;
    esac
  done
}

# The keys a spec names: itself, or for net.ipv4.conf.*.NAME each interface's (but
# all, default and lo), dots in interface names written as sysctl writes them (/).
sysctl_keys() {
  case $1 in
    net.ipv4.conf.\*.*)
      name=${1##*.}
      for f in /proc/sys/net/ipv4/conf/*/"$name"; do
        [ -e "$f" ] || continue
        iface=${f%/*}; iface=${iface##*/}
        case $iface in all|default|lo) continue ;; esac
        echo "net.ipv4.conf.$(printf %s "$iface" | tr . /).$name"
      done ;;
    *) echo "$1" ;;
  esac
}

# Now, in manifest form, for everything the manifest covers.
current() {
  while IFS="|" read -r kind a b c d; do
    case $kind in
      root) if [ -e "$b" ] || [ -L "$b" ]; then list_content "$b"; fi ;;
      m) if [ -e "$d" ]; then printf "m|%s\n" "$(stat -c "%a|%u|%g|%n" "$d")"; fi ;;
      s) echo "s|$a|$(sysctl -n "$a" 2>/dev/null)" ;;
    esac
  done < "$dir/manifest"
}

# One line per difference: remove|PATH  replace|PATH  restore|PATH  meta|c-or-m|PATH
# sysctl|KEY|VALUE. Content (c) and metadata-only (m) entries of one path are apart.
differences() {
  current > "$dir/now"
  awk -F'|' '
    function key() { return ($1 == "s") ? "s|" $2 : (($1 == "m") ? "m|" : "c|") $NF }
    NR == FNR { if ($1 != "root") { saved[key()] = $0; kind[key()] = $1 } next }
    {
      k = key(); seen[k] = 1
      if (!(k in saved)) { if ($1 != "m" && $1 != "s") print "remove|" $NF; next }
      if (saved[k] == $0) next
      if ($1 == "s") { split(saved[k], v, "|"); print "sysctl|" v[2] "|" v[3]; next }
      if ($1 == "m") { print "meta|m|" $NF; next }
      split(saved[k], o, "|")
      if (o[1] == $1 && ($1 == "d" || ($1 == "f" && o[2] == $2))) print "meta|c|" $NF
      else if (o[1] == "f" && $1 == "f") print "restore|" $NF
      else print "replace|" $NF
    }
    END { for (k in saved) if (!(k in seen) && substr(k, 1, 2) == "c|") print "restore|" substr(k, 3) }
  ' "$dir/manifest" "$dir/now" | sort -u
}

case $action in
save)
  if [ -e "$dir/manifest" ]; then echo "snapshot $dir exists already: not overwriting it" >&2; exit 3; fi
  mkdir -p "$dir" && chmod 700 "$dir" || exit 3
  : > "$dir/manifest.new"
  : > "$dir/members"
  for spec in "$@"; do
    path=${spec#?:}
    case $spec in
      C:*) if [ -e "$path" ] || [ -L "$path" ]; then
             echo "root|present|$path" >> "$dir/manifest.new"
             list_content "$path" >> "$dir/manifest.new"
             echo "${path#/}" >> "$dir/members"
           else echo "root|absent|$path" >> "$dir/manifest.new"; fi ;;
      M:*) find "$path" -xdev -printf 'm|%m|%U|%G|%p\n' >> "$dir/manifest.new" 2>/dev/null ;;
      N:*) find "$path" -maxdepth 0 -printf 'm|%m|%U|%G|%p\n' >> "$dir/manifest.new" 2>/dev/null ;;
      S:*) for key in $(sysctl_keys "$path"); do
             if value=$(sysctl -n "$key" 2>/dev/null); then echo "s|$key|$value" >> "$dir/manifest.new"; fi
           done ;;
    esac
  done
  tar -C / --xattrs -cpf "$dir/content.tar" --files-from "$dir/members" || exit 3
  mv "$dir/manifest.new" "$dir/manifest"
  echo "saved $(wc -l < "$dir/manifest") entries in $dir"
  ;;
diff)
  [ -f "$dir/manifest" ] || { echo "no snapshot $dir on this host" >&2; exit 3; }
  differences
  ;;
restore)
  [ -f "$dir/manifest" ] || { echo "no snapshot $dir on this host" >&2; exit 3; }
  status=0
  differences > "$dir/todo"
  # What the run added goes first (deepest first), then what it replaced or deleted
  # comes back from the archive, then modes and owners, then kernel settings.
  sed -n 's/^remove|//p' "$dir/todo" | sort -r | while read -r p; do
    if [ -e "$p" ] || [ -L "$p" ]; then rm -rf -- "$p" && echo "removed $p"; fi; done
  sed -n 's/^replace|//p' "$dir/todo" | while read -r p; do rm -rf -- "$p"; done
  sed -n 's/^\(restore\|replace\)|//p' "$dir/todo" | sed 's|^/||' > "$dir/members"
  if [ -s "$dir/members" ]; then
    tar -C / --xattrs -xpf "$dir/content.tar" --no-recursion --files-from "$dir/members" || status=1
    sed 's|^|restored /|' "$dir/members"
  fi
  sed -n 's/^meta|//p' "$dir/todo" | while IFS='|' read -r which p; do
    line=$(awk -F'|' -v p="$p" -v w="$which" '$NF == p && ((w == "m" && $1 == "m") || (w == "c" && ($1 == "f" || $1 == "d")))' "$dir/manifest" | head -n 1)
    case $line in
      f\|*) set -- $(echo "$line" | awk -F'|' '{print $3, $4, $5}') ;;
      *) set -- $(echo "$line" | awk -F'|' '{print $2, $3, $4}') ;;
    esac
    chown -h "$2:$3" "$p" && chmod "$1" "$p" && echo "metadata $p $1 $2:$3" || status=1
  done
  # Forwarding first: writing net.ipv4.ip_forward resets conf.all.accept_redirects.
  { sed -n 's/^sysctl|\([^|]*forward[^|]*|\)/\1/p' "$dir/todo"
    sed -n 's/^sysctl|//p' "$dir/todo" | grep -v '^[^|]*forward'; } | while IFS='|' read -r key value; do
    sysctl -qw "$key=$value" && echo "sysctl $key=$value"; done
  exit $status
  ;;
*) echo "usage: save|diff|restore DIR ..." >&2; exit 2 ;;
esac
