#!/usr/bin/env bash
# Build time of a real package with unimig-cc against plain clang-19 building the same package
# for both ISAs separately (scripts/plain-cc, same musl, static), as a ratio of medians.
# Each run = configure + make of zlib from its pristine Debian tarball, `make -j2`.
# Runs are interleaved (unimig, baseline, unimig, ...) so machine noise hits both alike.
set -euo pipefail
STAGE=$(cd "${1:?usage: build-time.sh STAGE}" && pwd)
RUNS=${BENCH_RUNS:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
tarball=$("$root/scripts/fetch-debsrc.sh" zlib "$root/build/debsrc")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build_zlib() { # build_zlib CC [ENV...]: configure + make in a fresh tree, prints seconds
  local cc=$1; shift
  rm -rf "$work/src" && mkdir -p "$work/src"
  tar -xf "$tarball" -C "$work/src" --strip-components=1
  local start end
  start=$(date +%s.%N)
  (cd "$work/src" && env "$@" CC="$cc" ./configure --static >/dev/null 2>&1 &&
     env "$@" make -j2 libz.a example minigzip >/dev/null 2>&1)
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

: >"$work/unimig.txt"; : >"$work/plain.txt"
for i in $(seq "$RUNS"); do
  build_zlib "$STAGE/bin/unimig-cc" >>"$work/unimig.txt"
  x=$(build_zlib "$root/scripts/plain-cc" UNIMIG_PREFIX="$STAGE" PLAIN_ISA=x86_64)
  a=$(build_zlib "$root/scripts/plain-cc" UNIMIG_PREFIX="$STAGE" PLAIN_ISA=aarch64)
  echo "$x + $a" | bc -l >>"$work/plain.txt"
done
u=$(median <"$work/unimig.txt"); p=$(median <"$work/plain.txt")
printf 'zlib build (configure + make -j2), median of %d runs:\n' "$RUNS"
printf '  unimig-cc (both ISAs, one build):      %.2f s\n' "$u"
printf '  clang-19 x86_64 + clang-19 aarch64:    %.2f s\n' "$p"
printf '  ratio: %.3f (goal <= 1.15)\n' "$(echo "$u / $p" | bc -l)"
