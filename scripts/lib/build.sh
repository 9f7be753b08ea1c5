# shellcheck shell=bash
# The one way the scripts configure and build the C module with CMake
# (scripts/setup.sh into build/, scripts/build-luajit.sh into build-luajit/,
# scripts/test.sh into build-asan/). Sourced from the checkout's top folder:
#   source scripts/lib/build.sh

# fresh_build_dir DIR: when DIR holds a CMake cache made for another source
# folder or in another place (a checkout copied or moved elsewhere, e.g. to
# /opt/proxyshard), remove DIR, so that CMake starts it afresh instead of
# failing with "CMakeCache.txt directory ... is different". Run from the
# source folder.
fresh_build_dir() {
  local dir=$1 cache=$1/CMakeCache.txt home made_in
  [[ -f $cache ]] || return 0
  home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")
  made_in=$(sed -n 's/^CMAKE_CACHEFILE_DIR:INTERNAL=//p' "$cache")
  # -ef: the same folder, whatever symbolic links lead to it
  if [[ -n $home && $home -ef . && -n $made_in && $made_in -ef $dir ]]; then
    return 0
  fi
  echo "build: $dir/ was configured for ${home:-another source folder}, not $PWD: building it afresh" >&2
  rm -rf -- "$dir"
}

# build_module DIR [CMAKE ARGS...]: configure (afresh if need be) and build
# the C module into DIR, build type $PROXYSHARD_BUILD_TYPE (default
# RelWithDebInfo). Quiet when all is well; when it fails, prints CMake's and
# the compiler's output on stdout and returns 1.
build_module() {
  local dir=$1 log
  shift
  fresh_build_dir "$dir"
  if ! log=$(cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="${PROXYSHARD_BUILD_TYPE:-RelWithDebInfo}" "$@" 2>&1 &&
      cmake --build "$dir" 2>&1); then
    printf '%s\n' "$log"
    return 1
  fi
}
