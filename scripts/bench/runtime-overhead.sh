#!/usr/bin/env bash
# Run-time overhead of the instrumentation, x86-64 native: CPU-bound programs built four ways
#   plain   clang-19 -O2 for x86-64 alone (scripts/plain-cc: same musl, static)
#   control plain again, at other code placements (below): not one instruction differs, so its
#           ratio to plain is what is left of code placement's effect after the averaging
#   unimig  unimig-cc -O2 (one middle end for both ISAs, no instrumentation: the default)
#   instr   unimig-cc -O2 -funimig-points=all -funimig-stackmaps (polls and statepoints)
# Programs: four small ones (scripts/bench/programs: call-heavy, loop-heavy, recursive,
# indirect calls; built with functions at clang's x86-64 alignment, 16 bytes, or at each of
# BENCH_ALIGNS) and the real packages' own work: Lua 5.4 on a script of calls, loops, tables
# and strings (with a fixed string-hash seed, below); bzip2 -9 and -d on 10 MB of text; zlib's
# minigzip on the same.
# Placements: where code lands moves these programs' times as much as the instrumentation does
# (session 8: up to 21% for the small ones, 2-4% for the packages, with no instruction
# changed), so every build is linked at several placements, its code moved by BENCH_PADS bytes
# (the control: BENCH_CONTROL_PADS) by a padding object linked first (scripts/bench/placed-cc,
# pad.c), and one timing is the sum over all of a variant's placements. The pads step by 16
# bytes within a 64-byte line, so with 16-byte alignment every function is timed at each of
# the four places it can start in a line. (Sessions 8 and 9 also built the small programs
# with -falign-functions=32 and 64. Those start every function at offset 0 of a line whatever
# the pad, so two thirds of the small programs' timings were of one placement; for fib that
# placement is plain's fastest (53 ms, 57-66 at the other three) and the instrumented code's
# slowest (66 ms, 57-63): recursive 1.14 that way, 1.07 over the four. BENCH_ALIGNS="16 32 64"
# measures it the old way.) Each figure is the median of RUNS (default 5) interleaved runs;
# the summary is the geometric mean of the ratios to plain. Then the image growth from
# stackmaps (x86-64 image of each instrumented program vs the default build: text, and the
# .llvm_stackmaps / .unimig.fixups sections).
set -euo pipefail
STAGE=$(cd "${1:?usage: runtime-overhead.sh STAGE}" && pwd)
RUNS=${BENCH_RUNS:-5}
read -r -a aligns <<<"${BENCH_ALIGNS:-16}"
# 0, 16, 32 and 48 bytes into a 64-byte cache line, each at another place in a 4 KiB page.
read -r -a pads <<<"${BENCH_PADS:-0 1040 2080 3120}"
read -r -a control_pads <<<"${BENCH_CONTROL_PADS:-528 1568 2608 3648}"
root=$(cd "$(dirname "$0")/../.." && pwd)
placed="$root/scripts/bench/placed-cc"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export UNIMIG_PREFIX="$STAGE"
variants=(plain control unimig instr)
cc_of() {
  case $1 in
    plain|control) echo "$root/scripts/plain-cc" ;;
    unimig) echo "$STAGE/bin/unimig-cc" ;;
    instr) echo "$STAGE/bin/unimig-cc -funimig-points=all -funimig-stackmaps" ;;
  esac
}
pads_of() { if [ "$1" = control ]; then echo "${control_pads[@]}"; else echo "${pads[@]}"; fi; }
# pad_obj VARIANT PAD: the padding object for that placement, nothing for none.
pad_obj() { [ "$2" = 0 ] || echo "$work/$1/pad.$2.o"; }

# Links a package's program again at each placement: DIR/PROGRAM.PAD.
relink() { # relink VARIANT DIR PROGRAM MAKE-ARGS...
  local v=$1 dir=$2 prog=$3 pad
  shift 3
  for pad in $(pads_of "$v"); do
    rm -f "$dir/$prog"
    (cd "$dir" && BENCH_PAD_OBJ=$(pad_obj "$v" "$pad") make "$@" CC="$placed $(cc_of "$v")" >/dev/null 2>&1) &&
      mv "$dir/$prog" "$dir/$prog.$pad" ||
      { echo "runtime-overhead.sh: linking $dir/$prog ($v) at placement $pad failed" >&2; exit 1; }
  done
}

# Builds: $work/<variant>/<program>.<pad>.<align> and the packages' <program>.<pad>.
for v in "${variants[@]}"; do
  cc=$(cc_of "$v")
  mkdir -p "$work/$v"
  for pad in $(pads_of "$v"); do
    [ "$pad" = 0 ] || $cc -c -DPAD="$pad" -o "$(pad_obj "$v" "$pad")" "$root/scripts/bench/pad.c"
    for p in calls loops recurse indirect; do
      for a in "${aligns[@]}"; do
        BENCH_PAD_OBJ=$(pad_obj "$v" "$pad") $placed $cc -O2 -falign-functions="$a" \
          -o "$work/$v/$p.$pad.$a" "$root/scripts/bench/programs/$p.c"
      done
    done
  done
  for pkg in lua5.4 bzip2 zlib; do
    tarball=$("$root/scripts/fetch-debsrc.sh" "$pkg" "$root/build/debsrc")
    mkdir -p "$work/$v/$pkg"
    tar -xf "$tarball" -C "$work/$v/$pkg" --strip-components=1
  done
  # Lua seeds its string hashes with the time and the addresses of a heap and a stack
  # variable, which ASLR moves: hash chains, and so times, differed between runs of one binary
  # (luaH_getshortstr 206 M vs 340 M instructions). A fixed seed makes each run the same work.
  (cd "$work/$v/lua5.4" && make -j2 linux CC="$cc" "MYCFLAGS=-D'luai_makeseed(L)=0x5eedu'" >/dev/null 2>&1)
  (cd "$work/$v/bzip2" && make -j2 bzip2 CC="$cc" >/dev/null 2>&1)
  (cd "$work/$v/zlib" && CC="$cc" ./configure --static >/dev/null 2>&1 && make -j2 minigzip >/dev/null 2>&1)
  relink "$v" "$work/$v/lua5.4/src" lua lua SYSCFLAGS=-DLUA_USE_LINUX "SYSLIBS=-Wl,-E -ldl"
  relink "$v" "$work/$v/bzip2" bzip2 bzip2
  relink "$v" "$work/$v/zlib" minigzip minigzip
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
"$work/plain/bzip2/bzip2.${pads[0]}" -9 -c "$work/input.txt" >"$work/input.bz2"

# The runnable files of a program in a variant: one per placement (and alignment).
builds() { # builds VARIANT PROGRAM
  local d="$work/$1" pad a
  for pad in $(pads_of "$1"); do
    case $2 in
      calls|loops|recurse|indirect) for a in "${aligns[@]}"; do echo "$d/$2.$pad.$a"; done ;;
      lua) echo "$d/lua5.4/src/lua.$pad" ;;
      bzip2-9|bzip2-d) echo "$d/bzip2/bzip2.$pad" ;;
      minigzip) echo "$d/zlib/minigzip.$pad" ;;
    esac
  done
}
run_one() { # run_one FILE PROGRAM: the program's work, to stdout
  case $2 in
    calls|loops|recurse|indirect) "$1" ;;
    lua) "$1" "$work/bench.lua" ;;
    bzip2-9) "$1" -9 -c "$work/input.txt" ;;
    bzip2-d) "$1" -d -c "$work/input.bz2" ;;
    minigzip) "$1" -c <"$work/input.txt" ;;
  esac
}
# One timing: every build of the program in the variant, one after the other.
workload() { # workload VARIANT PROGRAM
  local b
  for b in $(builds "$1" "$2"); do run_one "$b" "$2"; done
}
programs=(calls loops recurse indirect lua bzip2-9 bzip2-d minigzip)
# Every build's output against plain's first, once.
for p in "${programs[@]}"; do
  want=$(run_one "$(builds plain "$p" | head -n1)" "$p" | cksum)
  for v in "${variants[@]}"; do
    for b in $(builds "$v" "$p"); do
      got=$(run_one "$b" "$p" | cksum)
      [ "$got" = "$want" ] || { echo "runtime-overhead.sh: $p: $b: output differs from plain" >&2; exit 1; }
    done
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
printf 'each the sum over %d placements (%s); control: plain at %d others (%s), what placement leaves):\n' \
  "${#pads[@]}" "${pads[*]}" "${#control_pads[@]}" "${control_pads[*]}"
printf '  %-10s %9s %7s %9s %7s %9s %7s\n' program plain control unimig ratio instr ratio
ls=0; lu=0; li=0
for p in "${programs[@]}"; do
  a=$(median <"$work/$p.plain.txt"); c=$(median <"$work/$p.control.txt")
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
# (The builds at the first placement; with pads on, both include the same padding.)
z=${pads[0]}
a=${aligns[0]}
for p in calls.$z.$a loops.$z.$a recurse.$z.$a indirect.$z.$a lua5.4/src/lua.$z bzip2/bzip2.$z zlib/minigzip.$z; do
  u="$work/unimig/$p"; n="$work/instr/$p"
  tu=$(llvm-size-19 -A "$u" | awk '$1 == ".text" {print $2}')
  tn=$(llvm-size-19 -A "$n" | awk '$1 == ".text" {print $2}')
  sm=$(llvm-size-19 -A "$n" | awk '$1 == ".llvm_stackmaps" {print $2}')
  fx=$(llvm-size-19 -A "$n" | awk '$1 == ".unimig.fixups" {print $2}')
  printf '  %-10s %10d %10d %6.1f%% %14d %14d\n' "$(basename "${p%%.$z*}")" "$tu" "$tn" \
    "$(echo "($tn - $tu) * 100 / $tu" | bc -l)" "${sm:-0}" "${fx:-0}"
done
