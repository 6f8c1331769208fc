#!/usr/bin/env bash
# Cost of one migration, as a function of heap size and stack depth. A program touches H MiB
# of heap, recurses D frames deep and works at the bottom; `unimig run --migrate-at` moves it
# once near the end (x86-64 -> AArch64 and AArch64 -> x86-64). From the supervisor's report:
#   downtime    source stops (its probe) -> destination runs program code
#   ckpt        checkpoint size
#   transform   stack transformation (unimig-migrate), restore = destination start -> running
# Median of RUNS (default 3) runs per cell. The output must equal the unmigrated run's.
set -euo pipefail
STAGE=$(cd "${1:?usage: migration.sh STAGE}" && pwd)
RUNS=${BENCH_RUNS:-3}
export PATH="$STAGE/bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/mig.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
static unsigned long *heap;
static size_t words;
static unsigned long bottom(void) {
    unsigned long s = 0;
    for (size_t i = 0; i < 200000; i++)
        s = s * 31 + heap[(i * 7919) % words];
    return s;
}
static unsigned long down(int depth, unsigned long acc) {
    if (depth == 0)
        return bottom() ^ acc;
    return down(depth - 1, acc * 3 + (unsigned long)depth) + (unsigned long)depth;
}
int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], 0, 10) : 16;
    int depth = argc > 2 ? atoi(argv[2]) : 10;
    words = (mib << 20) / sizeof *heap;
    heap = malloc(words * sizeof *heap);
    for (size_t i = 0; i < words; i++)
        heap[i] = i * 2654435761u;
    printf("%lu\n", down(depth, 1));
    return 0;
}
C
unimig-cc -O2 -funimig-points=all -funimig-stackmaps "$work/mig.c" -o "$work/mig"

field() { sed -n "s/^ *\"$1\": \([^,]*\),\{0,1\}$/\1/p" "$2" | tr -d '"' | head -1; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

measure() { # measure MIB DEPTH ISA
  local mib=$1 depth=$2 isa=$3 total point r
  unimig run --isa "$isa" --count-points --report "$work/count.json" "$work/mig" "$mib" "$depth" >"$work/native"
  total=$(field points "$work/count.json")
  point=$((total - 50)) # at the bottom of the recursion
  for r in $(seq "$RUNS"); do
    unimig run --isa "$isa" --migrate-at "$point" --report "$work/r$r.json" \
      "$work/mig" "$mib" "$depth" >"$work/out"
    cmp -s "$work/native" "$work/out" || { echo "!! output differs after migration" >&2; exit 1; }
    [ -n "$(field downtime_us "$work/r$r.json")" ] || { echo "!! no migration" >&2; cat "$work/r$r.json" >&2; exit 1; }
  done
  cell() { for r in $(seq "$RUNS"); do field "$1" "$work/r$r.json"; done | median; }
  printf '%-8s -> %-8s %6s MiB %5s frames | downtime %9.1f ms | ckpt %8.1f MiB | transform %7s us | restore %8.1f ms\n' \
    "$isa" "$([ "$isa" = x86_64 ] && echo aarch64 || echo x86_64)" "$mib" "$depth" \
    "$(cell downtime_us | awk '{ print $1 / 1000 }')" \
    "$(cell checkpoint_bytes | awk '{ print $1 / 1048576 }')" \
    "$(cell transform_us)" \
    "$(cell restore_us | awk '{ print $1 / 1000 }')"
}

echo "## Migration cost (one migration near the end of the run; median of $RUNS)"
for isa in x86_64 aarch64; do
  for mib in 16 64 256 1024; do measure "$mib" 20 "$isa"; done
  for depth in 10 100 1000; do measure 16 "$depth" "$isa"; done
done
