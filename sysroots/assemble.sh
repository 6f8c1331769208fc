#!/usr/bin/env bash
# Assembles the two unimig sysroots under OUT (normally build/stage/lib/unimig/sysroots).
#
# Source: Debian's prebuilt musl 1.2.3 (musl-dev, musl-dev:arm64), built upstream with
# per-function and per-data sections. Compiler builtins (128-bit float helpers that musl's
# printf needs on AArch64, 128-bit integer division on both) come from GCC 12's libgcc.a.
# The layout (include/, lib/) is what the tools read, so a musl built from source by
# unimig-cc can replace these files later without touching the tools.
set -euo pipefail

OUT=${1:?usage: assemble.sh OUTDIR}

libgcc_for() {
  case "$1" in
    x86_64) echo /usr/lib/gcc/x86_64-linux-gnu/12/libgcc.a ;;
    aarch64) echo /usr/lib/gcc-cross/aarch64-linux-gnu/12/libgcc.a ;;
  esac
}

for isa in x86_64 aarch64; do
  triple="$isa-linux-musl"
  inc="/usr/include/$triple"
  lib="/usr/lib/$triple"
  gcc_lib=$(libgcc_for "$isa")
  for need in "$inc/stdio.h" "$lib/libc.a" "$lib/crt1.o" "$gcc_lib"; do
    if [ ! -e "$need" ]; then
      echo "assemble.sh: error: $need not found; run \`make setup\`" >&2
      exit 1
    fi
  done
  dest="$OUT/$triple"
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp/include" "$dest.tmp/lib"
  cp -a "$inc/." "$dest.tmp/include/"
  # Start files and libc; the other names are empty archives in musl (everything is in libc.a),
  # kept so `-lm -lpthread -lrt ...` resolve as on any Linux system.
  for f in crt1.o crti.o crtn.o Scrt1.o rcrt1.o libc.a libm.a libpthread.a libdl.a librt.a \
           libutil.a libxnet.a libresolv.a; do
    cp -a "$lib/$f" "$dest.tmp/lib/"
  done
  # libcrypt is part of musl's libc.a as well.
  cp -a "$lib/libm.a" "$dest.tmp/lib/libcrypt.a"
  cp -a "$gcc_lib" "$dest.tmp/lib/libgcc.a"
  echo "musl 1.2.3 (Debian musl-dev, prebuilt); builtins: $gcc_lib" > "$dest.tmp/SOURCE"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
done
echo "sysroots assembled in $OUT"
