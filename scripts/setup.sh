#!/usr/bin/env bash
# Installs from Debian (when run as root) what proxyshard needs, and builds
# the C module into build/. Safe to run again: it installs only what is
# missing and rebuilds only what changed. The one place that lists packages.
#   usage: scripts/setup.sh           what the library and the sandbox need
#                                     (scripts/demo.sh runs this)
#          scripts/setup.sh --tests   that, and what the test suite needs on
#                                     top (scripts/test.sh runs this)
#          PROXYSHARD_EXTRA_PACKAGES="..." scripts/setup.sh   (more packages)
#          scripts/setup.sh [--tests] --packages   prints the packages of that
#                                     set on one line; installs and builds nothing
# Not root and something missing: prints the apt-get line to run, exits 1.
# The install starts no service: a temporary /usr/sbin/policy-rc.d refuses
# every start; and when it is this install that brings nginx (the test set),
# Debian's nginx service, which its package enables, is disabled right after.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/build.sh

tests='' list=''
for arg in "$@"; do
  case $arg in
    --tests) tests=1 ;;
    --packages) list=1 ;;
    *) echo "usage: scripts/setup.sh [--tests] [--packages]" >&2; exit 2 ;;
  esac
done

# Run time: build the C module, run the library and the sandbox.
runtime_packages=(
  gcc libc6-dev make cmake pkg-config   # build the C module (libc6-dev is only a Recommends of gcc)
  lua5.4 liblua5.4-dev                  # Lua 5.4 and its headers
  libcurl4-openssl-dev                  # libcurl (the transport) and its headers
  ca-certificates                       # the CAs that verify https://, the default base URL
                                        # (only a Recommends of libcurl)
  lua-cjson                             # JSON
  lua-http                              # the sandbox's HTTP server
  lua-argparse                          # the proxyshard command's command line (bin/proxyshard)
)
# On top, for scripts/test.sh only.
test_packages=(
  lua-busted lua-socket curl            # busted; the specs' helpers and HTTP probes
  lua-check                             # spec/lint_spec.lua (luacheck)
  luarocks                              # spec/packaging_spec.lua
  lua-sec openssl                       # TLS specs (certificates, a TLS test server)
  luajit2 libluajit2-5.1-dev            # LuaJIT run of the library's specs (conflicts with libluajit-5.1-dev)
  lua5.1 liblua5.1-0-dev lua5.2 liblua5.2-dev lua5.3 liblua5.3-dev  # the library's specs on Lua 5.1, 5.2, 5.3
                                        # (lua-busted, lua-cjson, lua-socket, lua-sec install for every Lua)
  clang libclang-rt-14-dev              # money parser fuzzer: libFuzzer is in libclang-rt-14-dev, only
                                        # recommended by clang, so not pulled in by --no-install-recommends
  valgrind                              # memcheck phase
  wrk                                   # scripts/bench.sh's nginx rows (HTTP load at 1 and 20 connections)
  nginx libnginx-mod-http-lua lua-resty-core lua-resty-lrucache  # spec/nginx_spec.lua: a real nginx
  lua-ldoc                              # the reference (scripts/docs.sh), built without warnings
  tmux                                  # a real terminal for the command's prompt and the REPL (spec/repl_spec.lua)
  man-db groff-base                     # the generated manual page read back (man -l, groff -ww: spec/cli_docs_spec.lua)
  nodejs npm                            # the Prism mock server of the API document (npm), for its phase
)

packages=("${runtime_packages[@]}")
[[ -n $tests ]] && packages+=("${test_packages[@]}")
# shellcheck disable=SC2206
packages+=(${PROXYSHARD_EXTRA_PACKAGES:-})
if [[ -n $list ]]; then
  echo "${packages[*]}"
  exit 0
fi

# The names that installed packages provide besides their own (virtual
# packages): NodeSource's nodejs, say, provides npm and conflicts with
# Debian's, which could then not be installed.
declare -A provided=()
while read -r name; do
  [[ -n $name ]] && provided[$name]=1
done < <(dpkg-query -W -f='${Status}|${Provides}\n' 2>/dev/null |
  sed -n 's/^install ok installed|//p' | tr ',' '\n' | sed 's/^ *//; s/ .*//')

installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" || -n ${provided[$1]:-} ]]
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done

if ((${#missing[@]})); then
  line="apt-get install -y --no-install-recommends ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "proxyshard needs these Debian packages. As root, run:" >&2
    echo "  apt-get update && $line" >&2
    if [[ " ${missing[*]} " == *" nginx "* ]] && ! installed nginx-common; then
      echo "(Debian's nginx package enables and starts an nginx service on port 80; the tests" >&2
      echo "start their own nginx. Run this script as root instead to keep that service off, or" >&2
      echo "afterwards: systemctl disable --now nginx)" >&2
    fi
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive

  # No service starts during the install: invoke-rc.d and deb-systemd-invoke
  # (which the packages' scripts use) ask /usr/sbin/policy-rc.d first, and
  # 101 means "not allowed". One that is already there is put back after.
  policy=/usr/sbin/policy-rc.d
  saved_policy=$policy.proxyshard-saved
  restore_policy() {
    rm -f "$policy"
    if [[ -e $saved_policy ]]; then mv -f "$saved_policy" "$policy"; fi
  }
  [[ -e $policy ]] && mv -f "$policy" "$saved_policy"
  trap restore_policy EXIT
  trap 'exit 130' INT TERM HUP
  printf '#!/bin/sh\n# temporary, from proxyshard scripts/setup.sh: no service starts during its install\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  had_nginx=
  installed nginx-common && had_nginx=1

  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

  # nginx-common enables nginx.service (systemd) and /etc/init.d/nginx
  # (links in /etc/rc?.d), with a default site on port 80. Debian has no
  # switch that keeps a package from enabling its service, so when this
  # install brought nginx, turn it off right after: `update-rc.d nginx
  # disable` turns the S links into K links and removes the systemd link
  # (through systemctl where there is one), and upgrades leave it so. An
  # nginx that was there before is left as it was.
  if [[ -z $had_nginx ]] && installed nginx-common; then
    update-rc.d nginx disable >/dev/null 2>&1 || true
    if compgen -G "/etc/rc[2-5].d/S[0-9][0-9]nginx" >/dev/null ||
        compgen -G "/etc/systemd/system/*.wants/nginx.service" >/dev/null; then
      echo "setup: warning: could not disable Debian's nginx service: systemctl disable nginx" >&2
    else
      echo "setup: nginx installed for the tests; its service was not started, and is disabled" >&2
    fi
  fi
  restore_policy
  trap - EXIT INT TERM HUP
fi

build_module build >&2 || exit 1
