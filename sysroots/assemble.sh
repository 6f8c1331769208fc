#!/usr/bin/env bash
# Assembles the two unimig sysroots under OUT (normally build/stage/lib/unimig/sysroots).
#
# libc: musl 1.2.3 from Debian's source package, built by clang-19 for each ISA with the flags
# unimig forces on every program (design.md section 1), so libc follows the same rules as the
# program: same char signedness, no FP contraction, one section per function and per object,
# and string literals laid out by the same compiler on both ISAs (GCC's prebuilt AArch64 musl
# aligns literals to 8 bytes where x86-64 uses 1, which makes them impossible to align).
# Compiler builtins (128-bit float helpers that musl's printf needs on AArch64, 128-bit integer
# division on both) come from GCC 12's libgcc.a.
#
# musl is patched for unimig (sysroots/musl-patches/*.patch, applied in name order with
# `patch -p1 --fuzz=0`, so a patch that does not apply exactly stops the build): the thread
# descriptor at the same address on both ISAs, and the start-up hook through which
# libunimig_rt.a moves argv/envp/auxv and the main stack to fixed addresses. A build-time guard
# checks that the built libc.a carries both (see check_patched below).
#
# The result is cached: OUT/<triple>/SOURCE records what it was built from and with which flags
# (and the patches' checksums); a matching record skips the rebuild.
set -euo pipefail

OUT=${1:?usage: assemble.sh OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
FORCED_CFLAGS="-fsigned-char -ffp-contract=off -ffunction-sections -fdata-sections -fno-common -fno-pic -fno-pie"
JOBS=${JOBS:-$(nproc)}

# Per-ISA additions. AArch64: LLVM's GlobalMerge pass (on by default at -O1 and above for
# AArch64 only) merges a file's static variables into one `_MergedGlobals` blob, so they would
# not be separate sections the linker can give the same addresses as on x86-64.
isa_cflags() {
  case "$1" in
    aarch64) echo "-mno-global-merge" ;;
    *) echo "" ;;
  esac
}

libgcc_for() {
  case "$1" in
    x86_64) echo /usr/lib/gcc/x86_64-linux-gnu/12/libgcc.a ;;
    aarch64) echo /usr/lib/gcc-cross/aarch64-linux-gnu/12/libgcc.a ;;
  esac
}

tarball=$("$root/scripts/fetch-debsrc.sh" musl "$root/build/debsrc")
clang_version=$(clang-19 --version | head -n1)
patch_dir="$root/sysroots/musl-patches"
patches=("$patch_dir"/*.patch)
[ -e "${patches[0]}" ] || { echo "assemble.sh: error: no patches in $patch_dir" >&2; exit 1; }
patch_sums=$(cd "$patch_dir" && sha256sum -- *.patch | awk '{printf "%s %.16s; ", $2, $1}' | sed 's/; $//')

# The built libc.a must define the patch marker and the (weak, overridden by the runtime)
# start-up hook that __libc_start_main calls; an unpatched musl would silently keep the per-ISA
# descriptor placement and the kernel's stack.
check_patched() { # libc.a
  local syms
  syms=$(llvm-nm-19 "$1" 2>/dev/null) || return 1
  grep -q ' [RrDd] __unimig_musl_patch$' <<<"$syms" &&
    grep -q ' [Ww] __unimig_start_main$' <<<"$syms"
}

for isa in x86_64 aarch64; do
  triple="$isa-linux-musl"
  gcc_lib=$(libgcc_for "$isa")
  cflags=$(echo "$FORCED_CFLAGS $(isa_cflags "$isa")" | sed 's/ *$//')
  [ -e "$gcc_lib" ] || { echo "assemble.sh: error: $gcc_lib not found; run \`make setup\`" >&2; exit 1; }
  dest="$OUT/$triple"
  record="musl: $(basename "$tarball"); patches: $patch_sums; cc: $clang_version; cflags: $cflags; builtins: $gcc_lib"
  if [ -f "$dest/SOURCE" ] && [ "$(cat "$dest/SOURCE")" = "$record" ] && check_patched "$dest/lib/libc.a"; then
    echo "sysroot $triple is up to date"
    continue
  fi
  echo "building musl for $triple (log: build/musl-$triple.log)"
  work=$(mktemp -d)
  tar -xf "$tarball" -C "$work" --strip-components=1
  log="$root/build/musl-$triple.log"
  mkdir -p "$root/build"
  : >"$log"
  for p in "${patches[@]}"; do
    if ! (cd "$work" && patch -p1 --forward --fuzz=0 --no-backup-if-mismatch <"$p") >>"$log" 2>&1; then
      tail -n 20 "$log" >&2
      echo "assemble.sh: error: musl patch $(basename "$p") does not apply (log: $log)" >&2
      rm -rf "$work"
      exit 1
    fi
  done
  if ! (cd "$work" &&
        CC="clang-19 --target=$triple" CFLAGS="$cflags" AR=llvm-ar-19 RANLIB=llvm-ranlib-19 \
          ./configure --target="$triple" --disable-shared --prefix=/ &&
        make -j"$JOBS" AR=llvm-ar-19 RANLIB=llvm-ranlib-19 &&
        make install DESTDIR="$work/install" AR=llvm-ar-19 RANLIB=llvm-ranlib-19) >>"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "assemble.sh: error: building musl for $triple failed (full log: $log)" >&2
    rm -rf "$work"
    exit 1
  fi
  if ! check_patched "$work/install/lib/libc.a"; then
    echo "assemble.sh: error: the $triple libc.a lacks the unimig patches (__unimig_musl_patch," \
      "__unimig_start_main); see $log" >&2
    rm -rf "$work"
    exit 1
  fi
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  cp -a "$work/install/include" "$dest.tmp/include"
  cp -a "$work/install/lib" "$dest.tmp/lib"
  # musl keeps everything in libc.a; libm.a, libpthread.a, ... are empty archives so that
  # `-lm -lpthread -lcrypt` resolve as on any Linux system.
  cp -a "$dest.tmp/lib/libm.a" "$dest.tmp/lib/libcrypt.a" 2>/dev/null || true
  cp -a "$gcc_lib" "$dest.tmp/lib/libgcc.a"
  rm -f "$dest.tmp/lib/musl-gcc.specs"
  echo "$record" >"$dest.tmp/SOURCE"
  rm -rf "$dest" "$work"
  mv "$dest.tmp" "$dest"
done
echo "sysroots ready in $OUT"
