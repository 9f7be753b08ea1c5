#!/usr/bin/env bash
# The two commands on a fresh minimal Debian 12, as a new user would run
# them: builds a root with `debootstrap --variant=minbase bookworm`, clones
# this checkout into it as /work/proxyshard with a copy of ../shared beside
# it (as CI has them), and runs in it, as root, one after the other:
#   demo    scripts/demo.sh
#   tests   .ci/run (CI's command: it runs scripts/test.sh)
# For each it measures the packages installed (dpkg), their installed size
# (dpkg's Installed-Size, what apt calls "disk space"), how much the root grew
# (du; apt's package lists and downloaded .deb files, also shown, and the
# builds included), the wall time, the exit status and the last line, and
# prints a table. Then it checks that the demo
# installed none of clang, valgrind, nginx, LuaJIT, busted; that no nginx
# service is enabled (systemd or /etc/rc?.d) and nothing listens on port 80;
# and that the tests ended with 0 failed. Exits 0 when all of that holds.
#
#   usage: scripts/fresh-root.sh [--committed] [--keep] [--demo-only] [--dir DIR] [--mirror URL]
#     --committed   clone HEAD only; by default the clone gets the working
#                   tree as it is (tracked and untracked files, .gitignore
#                   respected): a commit of it made with a temporary index,
#                   which changes neither the index, a branch nor a file here
#     --keep        keep the root afterwards (it is removed by default)
#     --demo-only   stop after the demo
#     --dir DIR     build the root in DIR (must not exist; default under /var/tmp)
#     --mirror URL  Debian mirror (default http://deb.debian.org/debian)
#   needs: root, debootstrap and git on this machine (apt-get install
#   debootstrap git), Debian's archive reachable, ~2 GB of disk, ~10 min.
#   Logs: DIR.log/{debootstrap,demo,tests}.log, kept.
set -uo pipefail

# The mounts below are made in a mount namespace of our own when we can: they
# vanish with it, whatever happens to this script.
if [[ -z ${PROXYSHARD_FRESH_ROOT_NS:-} && $(id -u) -eq 0 ]] && command -v unshare >/dev/null &&
    unshare --mount --propagation private true 2>/dev/null; then
  PROXYSHARD_FRESH_ROOT_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

cd "$(dirname "$0")/.." || exit 1
src=$PWD

committed='' keep='' demo_only='' root='' mirror=http://deb.debian.org/debian
while (($#)); do
  case $1 in
    --committed) committed=1 ;;
    --keep) keep=1 ;;
    --demo-only) demo_only=1 ;;
    --dir) root=${2:?--dir needs a folder}; shift ;;
    --mirror) mirror=${2:?--mirror needs a URL}; shift ;;
    *) sed -n '/^#   usage:/,/^#   Logs:/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
  shift
done

die() { echo "fresh-root: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot, mount)"
for tool in debootstrap git chroot mount; do
  command -v "$tool" >/dev/null || die "needs $tool: apt-get install --no-install-recommends debootstrap git"
done

if [[ -z $root ]]; then
  root=$(mktemp -u /var/tmp/proxyshard-fresh-root.XXXXXX)
fi
[[ -e $root ]] && die "$root exists: give a new folder"
root=$(realpath -m "$root")
logs=$root.log
mkdir -p "$logs"
clone=/work/proxyshard

mounted=()
cleanup() {
  local i pid
  # processes still running inside the root (started by the commands we ran)
  for pid in $(procs_in_root); do
    echo "fresh-root: stopping process $pid left in the root: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" >&2
    kill -TERM "$pid" 2>/dev/null
  done
  sleep 0.5
  for pid in $(procs_in_root); do kill -KILL "$pid" 2>/dev/null; done
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}"
  done
  mounted=()
  if [[ -n $keep ]]; then
    echo "fresh-root: kept the root: $root (logs: $logs)" >&2
  elif grep -q " $root/" /proc/self/mounts; then
    echo "fresh-root: something is still mounted in $root: not removing it" >&2
  elif [[ -d $root ]]; then
    rm -rf --one-file-system "$root"
    echo "fresh-root: removed the root (logs: $logs)" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

procs_in_root() {
  local p
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/root" 2>/dev/null) == "$root" ]] && echo "${p#/proc/}"
  done
}

mount_in_root() { # mount_in_root TARGET MOUNT-ARGS...
  local target=$root$1
  shift
  mount "$@" "$target" && mounted+=("$target")
}

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", b - a }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f MB", k * 1024 / 1e6 }'; } # KiB (dpkg, du -k) to MB, as apt counts them

# This machine's own network settings: its proxy variables, and the trust
# its network needs (a CA of its own in /usr/local/share/ca-certificates,
# which the root gets before ca-certificates is installed, and
# NODE_EXTRA_CA_CERTS for npm). They are the machine's, as its admin would
# give them to any root on it, not the project's; empty elsewhere.
net_env=()
for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY NODE_EXTRA_CA_CERTS; do
  [[ -n ${!var:-} ]] && net_env+=("$var=${!var}")
done

in_root() { # in_root COMMAND: bash -c COMMAND in the root, with a clean environment as a login would
  chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${net_env[@]}" "${@:2}" bash -c "$1"
}
packages() { in_root "dpkg-query -W -f='\${db:Status-Abbrev}\n' | grep -c '^ii'"; }
installed_kb() { in_root "dpkg-query -W -f='\${db:Status-Abbrev} \${Installed-Size}\n' | awk '/^ii/ { s += \$2 } END { print s }'"; }
root_kb() { du -sxk "$root" | cut -f1; }
apt_kb() { du -sxkc "$root/var/cache/apt" "$root/var/lib/apt/lists" | tail -n 1 | cut -f1; }

# --- the root
echo "fresh-root: debootstrap --variant=minbase bookworm $root ($mirror)"
start=$(now)
if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$logs/debootstrap.log" 2>&1; then
  tail -n 20 "$logs/debootstrap.log" >&2
  die "debootstrap failed (log: $logs/debootstrap.log)"
fi
base_time=$(secs "$start" "$(now)")
# what an installed Debian has and debootstrap leaves out: the updates and
# security archives, and /etc/hosts (resolv.conf is copied by debootstrap)
security=${mirror%/debian}/debian-security
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# the machine's own CAs (see net_env): ca-certificates, when it is
# installed, adds them to the root's bundle
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi

mount_in_root /proc -t proc proc || die "cannot mount /proc in the root"
mount_in_root /sys -t sysfs sysfs || die "cannot mount /sys in the root"
mount_in_root /dev --bind /dev || die "cannot mount /dev in the root"
mount_in_root /dev/pts --bind /dev/pts || die "cannot mount /dev/pts in the root"
mount_in_root /dev/shm -t tmpfs shm || die "cannot mount /dev/shm in the root"

base_pkgs=$(packages)
base_kb=$(root_kb)

# --- the clone, and shared/ beside it
mkdir -p "$root/work"
git clone -q --no-hardlinks "$src" "$root$clone" || die "git clone failed"
if [[ -z $committed ]]; then
  index=$(mktemp)
  cp "$(git rev-parse --git-path index)" "$index"
  if ! tree=$(GIT_INDEX_FILE=$index git add -A && GIT_INDEX_FILE=$index git write-tree); then
    rm -f "$index"
    die "could not take the working tree"
  fi
  rm -f "$index"
  snapshot=$(git commit-tree -p HEAD -m "fresh-root: the working tree of $src" "$tree") || die "git commit-tree failed"
  if ! { git push -q "$root$clone" "$snapshot:refs/heads/fresh-root-worktree" &&
      git -C "$root$clone" checkout -q fresh-root-worktree; }; then
    die "could not put the working tree in the clone"
  fi
  what="the working tree of $src (HEAD $(git rev-parse --short HEAD) + uncommitted changes, as $(git rev-parse --short "$snapshot"))"
else
  what="HEAD $(git rev-parse --short HEAD) of $src"
fi
if [[ -d ../shared ]]; then
  cp -r ../shared "$root/work/shared" && chmod -R a-w "$root/work/shared"
fi
echo "fresh-root: cloned $what into $clone"

# --- the two commands
declare -A pkgs kb grew apt took last rc
measure() { # measure NAME COMMAND [ENV...]
  local name=$1 cmd=$2 p0 k0 r0 d0 t0
  shift 2
  p0=$(packages) k0=$(installed_kb) r0=$(root_kb) d0=$(apt_kb) t0=$(now)
  echo "fresh-root: $name: $cmd (log: $logs/$name.log)"
  in_root "cd $clone && $cmd" "$@" </dev/null 2>&1 | tee "$logs/$name.log" | sed -u 's/^/  | /'
  rc[$name]=${PIPESTATUS[0]}
  took[$name]=$(secs "$t0" "$(now)")
  pkgs[$name]=$(($(packages) - p0))
  kb[$name]=$(($(installed_kb) - k0))
  grew[$name]=$(($(root_kb) - r0))
  apt[$name]=$(($(apt_kb) - d0))
  last[$name]=$(grep -v '^[[:space:]]*$' "$logs/$name.log" | tail -n 1)
}

problems=()
measure demo scripts/demo.sh
((rc[demo] == 0)) || problems+=("scripts/demo.sh exited ${rc[demo]}")
for p in clang valgrind nginx nginx-common luajit2 libluajit2-5.1-2 libluajit-5.1-2 lua-busted; do
  if in_root "dpkg-query -W -f='\${Status}' $p 2>/dev/null | grep -q 'install ok installed'"; then
    problems+=("scripts/demo.sh installed $p")
  fi
done

if [[ -z $demo_only ]]; then
  measure tests "bash .ci/run" CI=true
  last[tests]=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/tests.log" | tail -n 1)
  [[ ${last[tests]} =~ ^[0-9]+\ passed,\ 0\ failed ]] || problems+=("the tests ended with: ${last[tests]:-no N passed, N failed line}")
  ((rc[tests] == 0)) || problems+=(".ci/run exited ${rc[tests]}")
fi

# --- services: nothing enabled, nothing on port 80
enabled=$(cd "$root" && ls -d etc/systemd/system/*.wants/nginx.service etc/rc?.d/S[0-9][0-9]nginx 2>/dev/null)
[[ -z $enabled ]] || problems+=("nginx is enabled: $(echo "$enabled" | tr '\n' ' ')")
if awk '$4 == "0A" && $2 ~ /:0050$/ { found = 1 } END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
  problems+=("something listens on port 80")
fi
left=$(procs_in_root | tr '\n' ' ')
[[ -z $left ]] || problems+=("processes left running in the root: $left")

# --- the table
printf '\nfresh-root: on debootstrap --variant=minbase bookworm, %s\n\n' "$(date -u +%Y-%m-%d)"
printf '%-16s %9s %15s %10s %18s %7s %5s  %s\n' "" packages "installed size" "root grew" "(apt lists, .debs)" time exit \
  "last line"
printf '%-16s %9s %15s %10s %18s %7s %5s  %s\n' "debootstrap" "$base_pkgs" "" "$(mb "$base_kb")" "" "${base_time} s" "" ""
for name in demo tests; do
  [[ -n ${took[$name]:-} ]] || continue
  label=$name
  [[ $name == demo ]] && label="scripts/demo.sh"
  [[ $name == tests ]] && label="scripts/test.sh"
  printf '%-16s %9s %15s %10s %18s %7s %5s  %s\n' "$label" "+${pkgs[$name]}" "+$(mb "${kb[$name]}")" \
    "+$(mb "${grew[$name]}")" "$(mb "${apt[$name]}")" "${took[$name]} s" "${rc[$name]}" "${last[$name]}"
done
echo
if ((${#problems[@]})); then
  printf 'fresh-root: FAILED: %s\n' "${problems[@]}"
  exit 1
fi
echo "fresh-root: ok: the demo installed no test package, no nginx service is enabled, nothing listens on port 80"
