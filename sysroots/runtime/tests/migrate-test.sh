#!/usr/bin/env bash
# Same-ISA migration through the runtime (docs/migration.md sections 2-3), run by
# run-tests.sh. Builds tests/migrate_prog.c with unimig-cc (-funimig-points=all
# -funimig-stackmaps) and tests/migrate_harness.c (a minimal supervisor, native), then for
# x86-64 (natively) and AArch64 (qemu-aarch64 on the split image):
#   - an unsupervised run = the reference (stdout, stderr, exit status, the file it wrote);
#   - 12 round trips in one run (each destination migrates again at the next listed point):
#     stdout, stderr, exit status identical to the reference;
#   - damaged checkpoints (one flipped byte, truncated, another image's id): every
#     destination must answer `fail <reason>` and exit 127, the source gets `abort` and
#     finishes: output identical again.
# The programs link the runtime installed in $SYSROOTS (what unimig-cc uses); it must be the
# one just built in $OUT (`make sysroots` at the top level installs it).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rtdir=$(dirname "$here")
OUT=${OUT:-$rtdir/build}
SYSROOTS=${SYSROOTS:-$(cd "$rtdir/../.." && pwd)/build/stage/lib/unimig/sysroots}
UNIMIG_BIN=${UNIMIG_BIN:-$(cd "$SYSROOTS/../../.." 2>/dev/null && pwd)/bin}
QEMU=${QEMU:-qemu-aarch64}
work=${1:?usage: migrate-test.sh WORKDIR}
fail=0
note() { printf '%s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*"; fail=1; }

clang-19 -O2 -Wall -Werror -I"$rtdir/src" "$here/sum_test.c" "$rtdir/src/ckpt_sum.c" \
  -o "$work/sum_test" && "$work/sum_test" || bad "unimig-sum64 test vectors"

if [ ! -x "$UNIMIG_BIN/unimig-cc" ]; then
  bad "$UNIMIG_BIN/unimig-cc not found (build the tools: make build)"; exit 1
fi
for t in x86_64-linux-musl aarch64-linux-musl; do
  cmp -s "$OUT/$t/lib/libunimig_rt.a" "$SYSROOTS/$t/lib/libunimig_rt.a" ||
    { bad "$SYSROOTS/$t/lib/libunimig_rt.a is not the runtime just built (run make sysroots)"; exit 1; }
done
clang-19 -O2 -Wall -Werror "$here/migrate_harness.c" -o "$work/harness" || { bad "build harness"; exit 1; }
"$UNIMIG_BIN/unimig-cc" -O2 -funimig-points=all -funimig-stackmaps "$here/migrate_prog.c" \
  -o "$work/prog" && (cd "$work" && "$UNIMIG_BIN/unimig" split prog) || { bad "build migrate_prog"; exit 1; }

# 12 points spread over the run (the program passes ~1300 migration points).
points=100,200,300,400,500,600,700,800,900,1000,1100,1200
for isa in x86_64 aarch64; do
  if [ $isa = x86_64 ]; then run=("$work/prog.x86_64"); else run=("$QEMU" "$work/prog.aarch64"); fi
  d=$work/$isa
  mkdir -p "$d/ck"
  # The reference, unsupervised: the same environment as the supervised runs get (the
  # runtime must hide the UNIMIG_* variables).
  (cd "$d" && env -i A=1 "${run[@]}" "$d/file" >"$d/ref.out" 2>"$d/ref.err"); ref_rc=$?
  cp "$d/file" "$d/ref.file"
  [ $ref_rc = 3 ] || bad "$isa: unsupervised run exited $ref_rc"
  compare() { # name
    local ok=1
    cmp -s "$d/ref.out" "$d/$1.out" || { bad "$isa $1: stdout differs"; diff "$d/ref.out" "$d/$1.out" | head -5; ok=0; }
    cmp -s "$d/ref.err" "$d/$1.err" || { bad "$isa $1: stderr differs"; diff "$d/ref.err" "$d/$1.err" | head -5; ok=0; }
    cmp -s "$d/ref.file" "$d/file" || { bad "$isa $1: the file written across migrations differs"; ok=0; }
    grep -q "^status $ref_rc\$" "$d/$1.log" || { bad "$isa $1: exit status differs"; ok=0; }
    [ $ok = 1 ]
  }
  (cd "$d" && env -i A=1 "$work/harness" -d "$d/ck" -a $points -n 12 -l "$d/chain.log" -- \
    "${run[@]}" "$d/file" >"$d/chain.out" 2>"$d/chain.err") || { bad "$isa: harness:"; grep FAIL "$d/chain.log"; }
  compare chain && note "ok: $isa: 12 same-ISA migrations in one run, output identical ($(tail -1 "$d/chain.log"))"
  for m in "flip checksum" "truncate truncated" "imageid image id"; do
    set -- $m; mode=$1; shift
    rm -f "$d/ck/"*
    (cd "$d" && env -i A=1 "$work/harness" -d "$d/ck" -a 300,700 -n 0 -c $mode -e "$*" -l "$d/$mode.log" -- \
      "${run[@]}" "$d/file" >"$d/$mode.out" 2>"$d/$mode.err") || { bad "$isa $mode:"; grep FAIL "$d/$mode.log"; }
    compare $mode && note "ok: $isa: $mode checkpoint refused: $(grep -m1 destination "$d/$mode.log")"
  done
done
exit $fail
