#!/usr/bin/env bash
# Migration response time: from `unimig migrate PID` signalling the program to the program
# reaching a migration point (measured by the supervisor up to the program's first probe
# message, so it includes writing the probe: the machine stack, a few KiB). Workloads, built
# with -funimig-points=all -funimig-stackmaps (loops poll on every back-edge, the default):
# Lua 5.4 on a CPU-bound script (an interpreter loop), and the loop-heavy and call-heavy
# programs of scripts/bench/programs run longer (-DROUNDS). Requests every 50 ms while the
# program runs (each one moves it to the other ISA, so both directions are measured); prints
# median and maximum. (bzip2 is left out: its hot frames are mostly at unsafe call sites, so
# requests wait for them to return: a response time of the unsafe sites, not of the polls.)
set -euo pipefail
STAGE=$(cd "${1:?usage: response.sh STAGE}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export UNIMIG_PREFIX="$STAGE"
cc="$STAGE/bin/unimig-cc -funimig-points=all -funimig-stackmaps"
tarball=$("$root/scripts/fetch-debsrc.sh" lua5.4 "$root/build/debsrc")
mkdir -p "$work/lua5.4"
tar -xf "$tarball" -C "$work/lua5.4" --strip-components=1
(cd "$work/lua5.4" && make -j2 linux CC="$cc" >/dev/null 2>&1)
$cc -O2 -DROUNDS=15 -o "$work/loops" "$root/scripts/bench/programs/loops.c"
$cc -O2 -DROUNDS=150000000u -o "$work/calls" "$root/scripts/bench/programs/calls.c"
cat >"$work/long.lua" <<'LUA'
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local t = {}
for r = 1, 12 do
  for i = 1, 200000 do t[i] = (i * 7919 + r) % 100003 end
  table.sort(t)
end
print(fib(32), t[1000])
LUA

measure() { # measure NAME CMD...: prints "NAME: n, median, max" of the response times
  local name=$1; shift
  "$STAGE/bin/unimig" run -- "$@" >/dev/null &
  local pid=$! out="$work/$name.txt"
  : >"$out"
  sleep 0.05
  while kill -0 "$pid" 2>/dev/null; do
    "$STAGE/bin/unimig" migrate "$pid" 2>/dev/null | sed -n 's/.*; response \([0-9.]*\) ms.*/\1/p' >>"$out" || true
    sleep 0.05
  done
  wait "$pid" || true
  sort -g "$out" | awk -v n="$name" '{a[NR]=$1} END {
    if (NR == 0) { printf "  %-22s no migration completed\n", n; exit }
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    printf "  %-22s %3d requests: median %.2f ms, max %.2f ms\n", n, NR, m, a[NR] }'
}
echo "Migration response time (unimig migrate -> first probe; both directions, AArch64 under qemu-user):"
measure "lua (interpreter)" "$work/lua5.4/src/lua" "$work/long.lua"
measure "loops (matrix, sieve)" "$work/loops"
measure "calls (call-heavy)" "$work/calls"
