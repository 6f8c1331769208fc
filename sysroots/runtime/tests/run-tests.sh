#!/usr/bin/env bash
# unimig runtime tests. Builds libunimig_rt.a (make, into $OUT), then tests/rt_test.c for
# x86-64 and AArch64, runs x86-64 natively twice (ASLR differs between runs) and AArch64 under
# qemu-aarch64 twice. Passes only if every run passes its own checks (addresses inside the
# documented regions, data intact) AND all four stdouts are byte-identical. Also checks that
# no musl member the runtime replaces was linked. Exits non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rtdir=$(dirname "$here")
OUT=${OUT:-$rtdir/build}
work=${WORK:-$(mktemp -d /tmp/unimig-rt-test.XXXXXX)}
QEMU=${QEMU:-qemu-aarch64}
fail=0
note() { printf '%s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*"; fail=1; }


# SYSROOTS=<dir>: use <dir>/<triple>/{include,lib} (as assembled by sysroots/assemble.sh);
# default: Debian's musl-dev and GCC 12's libgcc.a.
SYSROOTS=${SYSROOTS:-}
sysinc() { if [ -n "$SYSROOTS" ]; then echo "$SYSROOTS/$1/include"; else echo "/usr/include/$1"; fi; }
syslib() { if [ -n "$SYSROOTS" ]; then echo "$SYSROOTS/$1/lib"; else echo "/usr/lib/$1"; fi; }
libgcc() {
  if [ -n "$SYSROOTS" ] && [ -f "$SYSROOTS/$1-linux-musl/lib/libgcc.a" ]; then
    echo "$SYSROOTS/$1-linux-musl/lib/libgcc.a"
  elif [ "$1" = aarch64 ]; then echo /usr/lib/gcc-cross/aarch64-linux-gnu/12/libgcc.a
  else echo /usr/lib/gcc/x86_64-linux-gnu/12/libgcc.a; fi
}

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
  clang-19 --target=$t -nostdlibinc -isystem "$inc" \
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

if [ -x "$work/rt_test.x86_64" ]; then
  run native1 "$work/rt_test.x86_64"
  run native2 "$work/rt_test.x86_64"
fi
if [ -x "$work/rt_test.aarch64" ]; then
  run qemu1 "$QEMU" "$work/rt_test.aarch64"
  run qemu2 "$QEMU" "$work/rt_test.aarch64"
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
if [ -f "$work/native1.err" ] && [ -f "$work/native2.err" ]; then
  if cmp -s "$work/native1.err" "$work/native2.err"; then
    note "note: kernel-chosen stack identical in both native runs (ASLR off?: $(cat /proc/sys/kernel/randomize_va_space))"
  else
    note "ok: ASLR active (kernel-chosen stack differs between native runs)"
  fi
fi

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
