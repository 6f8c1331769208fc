#!/usr/bin/env bash
# Run time of a CPU-bound program built three ways, native x86-64: Lua 5.4 (Debian's pristine
# tarball, its own Makefile, -O2) running a script of calls, loops, tables and strings.
#   plain   clang-19 -O2 for x86-64 alone (scripts/plain-cc: same musl, static)
#   unimig  unimig-cc -O2 (target-neutral middle end, no instrumentation: the default)
#   instr   unimig-cc -O2 -funimig-points=all -funimig-stackmaps (polls and statepoints)
# Prints the median of RUNS (default 5) interleaved runs of each and the ratios to plain.
set -euo pipefail
STAGE=$(cd "${1:?usage: runtime-overhead.sh STAGE}" && pwd)
RUNS=${BENCH_RUNS:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
tarball=$("$root/scripts/fetch-debsrc.sh" lua5.4 "$root/build/debsrc")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build_lua() { # build_lua NAME CC...: builds $work/NAME/src/lua
  local name=$1; shift
  mkdir -p "$work/$name"
  tar -xf "$tarball" -C "$work/$name" --strip-components=1
  (cd "$work/$name" && env UNIMIG_PREFIX="$STAGE" make -j2 linux CC="$*" >/dev/null 2>&1)
}
build_lua plain "$root/scripts/plain-cc"
build_lua unimig "$STAGE/bin/unimig-cc"
build_lua instr "$STAGE/bin/unimig-cc -funimig-points=all -funimig-stackmaps"

cat >"$work/bench.lua" <<'LUA'
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local t = {}
for i = 1, 200000 do t[i] = (i * 7919) % 100003 end
table.sort(t)
local parts = {}
for i = 1, 100000 do parts[#parts + 1] = tostring(i):rep(2) end
local s = table.concat(parts, ",")
local count = 0
for w in s:gmatch("%d+") do count = count + #w end
local acc = 0.0
for i = 1, 3000000 do acc = acc + math.sin(i) * math.sqrt(i) end
print(fib(30), t[1000], count, string.format("%.3f", acc))
LUA

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc -l; }
for i in $(seq "$RUNS"); do
  for v in plain unimig instr; do
    seconds "$work/$v/src/lua" "$work/bench.lua" >>"$work/$v.txt"
  done
done
p=$(median <"$work/plain.txt"); u=$(median <"$work/unimig.txt"); n=$(median <"$work/instr.txt")
printf 'Lua 5.4 CPU-bound script, x86-64 native, median of %d runs:\n' "$RUNS"
printf '  clang-19 -O2:                                  %.3f s\n' "$p"
printf '  unimig-cc -O2 (points=none, no stackmaps):     %.3f s  ratio %.3f\n' "$u" "$(echo "$u / $p" | bc -l)"
printf '  unimig-cc -O2 -funimig-points=all -funimig-stackmaps: %.3f s  ratio %.3f\n' "$n" "$(echo "$n / $p" | bc -l)"
