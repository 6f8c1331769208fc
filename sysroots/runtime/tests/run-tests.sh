#!/usr/bin/env bash
# unimig runtime tests. Builds libunimig_rt.a (make, into $OUT), then tests/rt_test.c for
# x86-64 and AArch64, runs x86-64 natively twice (ASLR differs between runs) and AArch64 under
# qemu-aarch64 twice, each as `env -i A=1 B=2 ./rt_test one "two words" ""` (same argv[0],
# argument and environment strings everywhere). Passes only if every run passes its own checks
# (addresses inside the documented regions, data intact) AND all four stdouts are
# byte-identical AND each ISA's two stderrs (the stack address in main) are identical. Also
# checks that no musl member the runtime replaces was linked. Exits non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rtdir=$(dirname "$here")
OUT=${OUT:-$rtdir/build}
work=${WORK:-$(mktemp -d /tmp/unimig-rt-test.XXXXXX)}
QEMU=${QEMU:-qemu-aarch64}
fail=0
note() { printf '%s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*"; fail=1; }


# SYSROOTS=<dir>: use <dir>/<triple>/{include,lib} as assembled by sysroots/assemble.sh (the
# runtime needs that patched musl); default: this tree's build/stage/lib/unimig/sysroots.
SYSROOTS=${SYSROOTS:-$(cd "$rtdir/../.." && pwd)/build/stage/lib/unimig/sysroots}
for t in x86_64-linux-musl aarch64-linux-musl; do
  [ -f "$SYSROOTS/$t/lib/libc.a" ] ||
    { echo "FAIL: $SYSROOTS/$t/lib/libc.a not found: run \`make sysroots\` at the top level"; exit 1; }
done
sysinc() { echo "$SYSROOTS/$1/include"; }
syslib() { echo "$SYSROOTS/$1/lib"; }
libgcc() { echo "$SYSROOTS/$1-linux-musl/lib/libgcc.a"; }

make -s -C "$rtdir" OUT="$OUT" SYSROOTS="$SYSROOTS" || { echo "FAIL: runtime build"; exit 1; }
flags=(-fsigned-char -ffp-contract=off -ffunction-sections -fdata-sections -fno-common
       -fno-pic -fno-pie -O2 -Wall -Werror
       -fno-builtin) # keep malloc/free pairs the test makes (LLVM deletes unused allocations)
# musl members the runtime must replace (if any is linked, a libc internal bypasses us)
replaced='__init_tls|mmap|munmap|mremap|__unmapself|lite_malloc|malloc|free|realloc|calloc|libc_calloc|aligned_alloc|memalign|posix_memalign|malloc_usable_size|replaced|donate|sbrk'

for isa in x86_64 aarch64; do
  t=$isa-linux-musl
  lib=$(syslib $t)
  inc=$(sysinc $t)
  extra=$(libgcc $isa)
  clang-19 --target=$t -nostdlibinc -isystem "$inc" -fstack-protector-strong \
    -I"$rtdir/include" "${flags[@]}" -c "$here/rt_test.c" -o "$work/rt_test.$isa.o" \
    || { bad "compile rt_test for $isa"; continue; }
  ld.lld-19 -static -u unimig_rt_version -o "$work/rt_test.$isa" --why-extract="$work/why.$isa" \
    "$lib/crt1.o" "$lib/crti.o" "$work/rt_test.$isa.o" "$OUT/$t/lib/libunimig_rt.a" \
    "$lib/libc.a" $extra "$lib/crtn.o" || { bad "link rt_test for $isa"; continue; }
  if grep -E "libc\.a\(($replaced)\.(lo|o)\)" "$work/why.$isa" >/dev/null; then
    bad "$isa: musl members that the runtime replaces were linked:"
    grep -E "libc\.a\(($replaced)\.(lo|o)\)" "$work/why.$isa"
  else
    note "ok: $isa link uses the runtime's TLS, mmap and malloc (no replaced musl member linked)"
  fi
  # link-order hazard program: right order must use the runtime, wrong order must not link
  clang-19 --target=$t -nostdlibinc -isystem "$inc" \
    -I"$rtdir/include" "${flags[@]}" -c "$here/link_order.c" -o "$work/link_order.$isa.o" \
    || { bad "compile link_order for $isa"; continue; }
  ld.lld-19 -static -u unimig_rt_version -o "$work/link_order.$isa" "$lib/crt1.o" "$lib/crti.o" \
    "$work/link_order.$isa.o" "$OUT/$t/lib/libunimig_rt.a" "$lib/libc.a" $extra "$lib/crtn.o" \
    || bad "link link_order for $isa"
  if ld.lld-19 -static -u unimig_rt_version -o "$work/link_order_wrong.$isa" "$lib/crt1.o" \
      "$lib/crti.o" "$work/link_order.$isa.o" "$lib/libc.a" "$OUT/$t/lib/libunimig_rt.a" $extra \
      "$lib/crtn.o" 2>"$work/link_order_wrong.$isa.err"; then
    bad "$isa: runtime archive after libc.a linked without error (-u unimig_rt_version)"
  elif grep -q "duplicate symbol: __copy_tls" "$work/link_order_wrong.$isa.err"; then
    note "ok: $isa: wrong link order (libc.a first) fails loudly with -u unimig_rt_version"
  else
    bad "$isa: wrong link order failed for an unexpected reason"; head -3 "$work/link_order_wrong.$isa.err"
  fi
  # the patched libc.a alone (no runtime) is still a working libc
  clang-19 --target=$t -nostdlibinc -isystem "$inc" "${flags[@]}" -c "$here/standalone.c" \
    -o "$work/standalone.$isa.o" &&
  ld.lld-19 -static -o "$work/standalone.$isa" "$lib/crt1.o" "$lib/crti.o" \
    "$work/standalone.$isa.o" "$lib/libc.a" $extra "$lib/crtn.o" || bad "link standalone for $isa"
done

for isa in x86_64 aarch64; do
  [ -x "$work/standalone.$isa" ] || continue
  if [ $isa = x86_64 ]; then out=$("$work/standalone.$isa"); else out=$("$QEMU" "$work/standalone.$isa"); fi
  [ "$out" = "standalone: ok" ] && note "ok: $isa: the patched libc.a works without the runtime" \
    || bad "$isa: the patched libc.a without the runtime: ${out:-crashed}"
done

if [ -x "$work/link_order.x86_64" ]; then
  "$work/link_order.x86_64" >/dev/null && note "ok: link_order (x86_64) uses the runtime's TLS" \
    || bad "link_order (x86_64) does not use the runtime's TLS"
fi
if [ -x "$work/link_order.aarch64" ]; then
  "$QEMU" "$work/link_order.aarch64" >/dev/null && note "ok: link_order (aarch64) uses the runtime's TLS" \
    || bad "link_order (aarch64) does not use the runtime's TLS"
fi

run() { # name cmd...
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err"
  local rc=$?
  if [ $rc -ne 0 ] || ! grep -q '^RESULT: PASS' "$work/$name.out"; then
    bad "$name exited $rc"
    grep -E '^FAIL|RESULT' "$work/$name.out" | head -20
    head -5 "$work/$name.err"
  else
    note "ok: $name passed its checks"
  fi
}

# Same argv[0] ("./rt_test"), arguments and environment on every run.
args=(one "two words" "")
mkdir -p "$work/native"
ln -sf ../rt_test.x86_64 "$work/native/rt_test"
if [ -x "$work/rt_test.x86_64" ]; then
  run native1 env -C "$work/native" -i A=1 B=2 ./rt_test "${args[@]}"
  run native2 env -C "$work/native" -i A=1 B=2 ./rt_test "${args[@]}"
fi
# qemu-user 7.2 hands its own environment to the guest in reverse order (it builds a list by
# prepending); give it B=2 A=1 so that the guest sees A=1 B=2 like the native runs.
if [ -x "$work/rt_test.aarch64" ]; then
  run qemu1 env -C "$work" -i B=2 A=1 "$QEMU" -0 ./rt_test "$work/rt_test.aarch64" "${args[@]}"
  run qemu2 env -C "$work" -i B=2 A=1 "$QEMU" -0 ./rt_test "$work/rt_test.aarch64" "${args[@]}"
fi

for n in native2 qemu1 qemu2; do
  if [ -f "$work/native1.out" ] && [ -f "$work/$n.out" ]; then
    if cmp -s "$work/native1.out" "$work/$n.out"; then
      note "ok: native1 and $n outputs are byte-identical"
    else
      bad "native1 and $n outputs differ:"
      diff "$work/native1.out" "$work/$n.out" | head -20
    fi
  else
    bad "missing output for $n"
  fi
done
# stderr: the address of a local in main, in the fixed main stack; the same in every run of
# one ISA (ASLR: $(cat /proc/sys/kernel/randomize_va_space)), possibly not across ISAs.
for pair in "native1 native2" "qemu1 qemu2"; do
  set -- $pair
  if [ -f "$work/$1.err" ] && [ -f "$work/$2.err" ] && cmp -s "$work/$1.err" "$work/$2.err"; then
    note "ok: $1 and $2 stderr (stack address in main) identical: $(grep -o '0x[0-9a-f]*' "$work/$1.err" | head -1)"
  else
    bad "$1 and $2 stderr differ:"; diff "$work/$1.err" "$work/$2.err" | head -10
  fi
done

# Same-ISA migration round trips and damaged checkpoints (needs the built unimig-cc).
OUT=$OUT SYSROOTS=$SYSROOTS QEMU=$QEMU bash "$here/migrate-test.sh" "$work" || fail=1

if [ $fail -eq 0 ]; then
  if [ -z "${WORK:-}" ] && [ -z "${KEEP:-}" ]; then
    rm -rf "$work"
    note "runtime tests: PASS"
  else
    note "runtime tests: PASS (outputs in $work)"
  fi
  exit 0
fi
note "runtime tests: FAIL (outputs in $work)"
exit 1
