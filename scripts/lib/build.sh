# shellcheck shell=bash
# The one way the scripts configure and build the C module with CMake
# (scripts/setup.sh into build/, scripts/build-lua.sh into build-lua5.1/,
# build-lua5.2/, build-lua5.3/ and build-luajit/, scripts/test.sh into
# build-asan/). Sourced from the checkout's top folder:
#   source scripts/lib/build.sh

# The Lua versions the C module is built for, each with its pkg-config
# module (CMake's LUA_PKG), its build folder and its interpreter. Lua 5.4 is
# the main one and keeps build/, which .busted points at.
LUA_VERSIONS=(5.1 5.2 5.3 5.4 luajit)

# lua_pkg VERSION: the pkg-config module of its headers (Debian's names)
lua_pkg() {
  case $1 in
    5.[1-4]) echo "lua$1" ;;
    luajit) echo luajit ;;
    *) return 1 ;;
  esac
}

# lua_build_dir VERSION: the folder the module is built into for it
lua_build_dir() {
  case $1 in
    5.4) echo build ;;
    5.[123]) echo "build-lua$1" ;;
    luajit) echo build-luajit ;;
    *) return 1 ;;
  esac
}

# lua_interpreter VERSION: the command that runs it
lua_interpreter() {
  case $1 in
    5.[1-4]) echo "lua$1" ;;
    luajit) echo luajit ;;
    *) return 1 ;;
  esac
}

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

# build_for_lua VERSION: build_module into lua_build_dir VERSION against the
# headers of that Lua (LUA_PKG); the same output and status.
build_for_lua() {
  local dir pkg
  if ! dir=$(lua_build_dir "$1") || ! pkg=$(lua_pkg "$1"); then
    echo "build: unknown Lua version '$1' (one of: ${LUA_VERSIONS[*]})"
    return 1
  fi
  build_module "$dir" -DLUA_PKG="$pkg"
}
