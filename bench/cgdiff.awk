# Instructions per request by shared object and by function, from two
# callgrind runs of the same client, one of N1 requests and one of N2:
# (self Ir in the N2 run - self Ir in the N1 run) / (N2 - N1), so that
# start-up cancels out. For scripts/bench.sh --profile.
#   callgrind_annotate --inclusive=no --threshold=100 OUT.N1 > A
#   callgrind_annotate --inclusive=no --threshold=100 OUT.N2 > B
#   awk -v n=$((N2 - N1)) -v mode=objects|functions -f bench/cgdiff.awk A B
# objects: "object|k per request" lines, largest first (not sorted here:
# the caller sorts); functions: "k per request|function [object]".
function object(line,    o) {
  if (match(line, /\[[^]]+\]$/)) {
    o = substr(line, RSTART + 1, RLENGTH - 2)
    sub(/.*\//, "", o)
  } else {
    return "other"
  }
  if (o ~ /^lua5/ || o ~ /^luajit/) return "the Lua interpreter (" o ")"
  if (o ~ /^libcurl/) return "libcurl"
  if (o ~ /^libc\.so/ || o ~ /^libc-/) return "libc (malloc, memcpy, ...)"
  if (o == "core.so") return "proxyshard.core (core.so)"
  if (o ~ /cjson/) return "cjson"
  if (o ~ /^ld-linux/) return "ld.so"
  if (o ~ /^libssl/ || o ~ /^libcrypto/) return "OpenSSL"
  if (o ~ /^libnghttp2/ || o ~ /^libz/ || o ~ /^libbrotli/ || o ~ /^libzstd/ || o ~ /^libidn2/ || o ~ /^libpsl/) return "libcurl's libraries"
  if (o == "easy_loop") return "the C loop itself"
  return o
}
/^ *[0-9][0-9,]* \(/ {
  ir = $1
  gsub(/,/, "", ir)
  key = $0
  sub(/^ *[0-9][0-9,]* \( *[0-9.]+%\) +/, "", key)
  if (key ~ /PROGRAM TOTALS/) next
  sign = (FILENAME == ARGV[1]) ? -1 : 1
  fn[key] += sign * ir
  obj[object(key)] += sign * ir
}
END {
  if (mode == "objects") {
    for (o in obj) if (obj[o] / n >= 50) printf "%s|%.1f\n", o, obj[o] / n / 1000
  } else {
    for (f in fn) if (fn[f] / n >= 500) printf "%.1f|%s\n", fn[f] / n / 1000, f
  }
}
