#!/usr/bin/env bash
# Run-time overhead of the instrumentation, x86-64 native: CPU-bound programs built four ways
#   plain   clang-19 -O2 for x86-64 alone (scripts/plain-cc: same musl, static)
#   shifted plain again with all code moved by 1000 bytes (PLAIN_TEXT_PAD): not one instruction
#           differs, so its ratio to plain is what code placement alone does to each program
#   unimig  unimig-cc -O2 (one middle end for both ISAs, no instrumentation: the default)
#   instr   unimig-cc -O2 -funimig-points=all -funimig-stackmaps (polls and statepoints)
# Programs: four small ones (scripts/bench/programs: call-heavy, loop-heavy, recursive,
# indirect calls; each built with functions aligned to 16, 32 and 64 bytes, BENCH_ALIGNS, and
# timed over all three: code placement alone moves these by up to 21%, so one placement would
# measure its luck) and the real packages' own work: Lua 5.4 on a script of calls, loops, tables
# and strings; bzip2 -9 and -d on 10 MB of text; zlib's minigzip on the same. Each figure is the
# median of RUNS (default 5) interleaved runs; the summary is the geometric mean of the ratios to
# plain. Then the image growth from stackmaps (x86-64 image of each instrumented program vs the
# default build: text, and the .llvm_stackmaps / .unimig.fixups sections).
set -euo pipefail
STAGE=$(cd "${1:?usage: runtime-overhead.sh STAGE}" && pwd)
RUNS=${BENCH_RUNS:-5}
read -r -a aligns <<<"${BENCH_ALIGNS:-16 32 64}"
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export UNIMIG_PREFIX="$STAGE"
variants=(plain shifted unimig instr)
cc_of() {
  case $1 in
    plain|shifted) echo "$root/scripts/plain-cc" ;;
    unimig) echo "$STAGE/bin/unimig-cc" ;;
    instr) echo "$STAGE/bin/unimig-cc -funimig-points=all -funimig-stackmaps" ;;
  esac
}

# Builds: $work/<variant>/<program> runnable files.
for v in "${variants[@]}"; do
  cc=$(cc_of "$v")
  if [ "$v" = shifted ]; then export PLAIN_TEXT_PAD=1000; else unset PLAIN_TEXT_PAD; fi
  mkdir -p "$work/$v"
  for p in calls loops recurse indirect; do
    for a in "${aligns[@]}"; do
      $cc -O2 -falign-functions="$a" -o "$work/$v/$p.$a" "$root/scripts/bench/programs/$p.c"
    done
  done
  for pkg in lua5.4 bzip2 zlib; do
    tarball=$("$root/scripts/fetch-debsrc.sh" "$pkg" "$root/build/debsrc")
    mkdir -p "$work/$v/$pkg"
    tar -xf "$tarball" -C "$work/$v/$pkg" --strip-components=1
  done
  (cd "$work/$v/lua5.4" && make -j2 linux CC="$cc" >/dev/null 2>&1)
  (cd "$work/$v/bzip2" && make -j2 bzip2 CC="$cc" >/dev/null 2>&1)
  (cd "$work/$v/zlib" && CC="$cc" ./configure --static >/dev/null 2>&1 && make -j2 minigzip >/dev/null 2>&1)
done

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
seq 1 1500000 >"$work/input.txt"
"$work/plain/bzip2/bzip2" -9 -c "$work/input.txt" >"$work/input.bz2"

# One workload: prints nothing, its output checked against plain's once. A small program runs
# once per placement (one timing is their sum).
workload() { # workload VARIANT NAME
  local d="$work/$1" a
  case $2 in
    calls|loops|recurse|indirect) for a in "${aligns[@]}"; do "$d/$2.$a"; done ;;
    lua) "$d/lua5.4/src/lua" "$work/bench.lua" ;;
    bzip2-9) "$d/bzip2/bzip2" -9 -c "$work/input.txt" ;;
    bzip2-d) "$d/bzip2/bzip2" -d -c "$work/input.bz2" ;;
    minigzip) "$d/zlib/minigzip" -c <"$work/input.txt" ;;
  esac
}
programs=(calls loops recurse indirect lua bzip2-9 bzip2-d minigzip)
for p in "${programs[@]}"; do
  want=$(workload plain "$p" | cksum)
  for v in shifted unimig instr; do
    got=$(workload "$v" "$p" | cksum)
    [ "$got" = "$want" ] || { echo "runtime-overhead.sh: $p ($v) output differs from plain" >&2; exit 1; }
  done
done

seconds() { local s e; s=$(date +%s.%N); workload "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
for i in $(seq "$RUNS"); do
  for p in "${programs[@]}"; do
    for v in "${variants[@]}"; do
      seconds "$v" "$p" >>"$work/$p.$v.txt"
    done
  done
done

printf 'Run-time overhead, x86-64 native, median of %d interleaved runs (seconds; ratio to plain clang-19 -O2;\n' "$RUNS"
printf 'shifted: the plain build with its code moved by 1000 bytes, a control for code placement):\n'
printf '  %-10s %9s %7s %9s %7s %9s %7s\n' program plain shifted unimig ratio instr ratio
ls=0; lu=0; li=0
for p in "${programs[@]}"; do
  a=$(median <"$work/$p.plain.txt"); c=$(median <"$work/$p.shifted.txt")
  u=$(median <"$work/$p.unimig.txt"); n=$(median <"$work/$p.instr.txt")
  rs=$(echo "$c / $a" | bc -l); ru=$(echo "$u / $a" | bc -l); ri=$(echo "$n / $a" | bc -l)
  ls=$(echo "$ls + l($rs)" | bc -l); lu=$(echo "$lu + l($ru)" | bc -l); li=$(echo "$li + l($ri)" | bc -l)
  printf '  %-10s %9.3f %7.3f %9.3f %7.3f %9.3f %7.3f\n' "$p" "$a" "$rs" "$u" "$ru" "$n" "$ri"
done
k=${#programs[@]}
printf '  %-10s %9s %7.3f %9s %7.3f %9s %7.3f   (geometric mean; goal for instr <= 1.02)\n' geomean "" \
  "$(echo "e($ls / $k)" | bc -l)" "" "$(echo "e($lu / $k)" | bc -l)" "" "$(echo "e($li / $k)" | bc -l)"

# Image growth from the instrumentation: the x86-64 image (the fat file itself) of each program.
echo "Image growth from migration points and stackmaps (x86-64 image, instr vs unimig default):"
printf '  %-10s %10s %10s %7s %14s %14s\n' program text text-instr growth .llvm_stackmaps .unimig.fixups
for p in calls.16 loops.16 recurse.16 indirect.16 lua5.4/src/lua bzip2/bzip2 zlib/minigzip; do
  u="$work/unimig/$p"; n="$work/instr/$p"
  tu=$(llvm-size-19 -A "$u" | awk '$1 == ".text" {print $2}')
  tn=$(llvm-size-19 -A "$n" | awk '$1 == ".text" {print $2}')
  sm=$(llvm-size-19 -A "$n" | awk '$1 == ".llvm_stackmaps" {print $2}')
  fx=$(llvm-size-19 -A "$n" | awk '$1 == ".unimig.fixups" {print $2}')
  printf '  %-10s %10d %10d %6.1f%% %14d %14d\n' "$(basename "${p%.16}")" "$tu" "$tn" \
    "$(echo "($tn - $tu) * 100 / $tu" | bc -l)" "${sm:-0}" "${fx:-0}"
done
