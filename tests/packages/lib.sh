# Sourced by the package build scripts. The Rust test runs each script with bash in the
# package's freshly extracted source tree, with these variables set:
#   CC        absolute path of unimig-cc (its bin/ directory is first on PATH)
#   UNIMIG    absolute path of the unimig tool
#   JOBS      parallel make jobs
#   TESTS_DIR the unimig tests/ directory
set -euo pipefail
: "${CC:?}" "${UNIMIG:?}" "${JOBS:?}" "${TESTS_DIR:?}"
# Every package is built instrumented (migration points at function entries and loops,
# stackmapped call sites, shadow stack), so its own test suite runs on migratable code.
CC="$CC -funimig-points=all -funimig-stackmaps"
export CC

# phase NAME: marks the start of a build phase in the log, with the elapsed time.
phase() {
  echo
  echo ">>> unimig-test [${SECONDS}s] $*"
}

# with_aarch64_halves CMD... -- PROGRAM...: replaces each fat PROGRAM by a script that runs its
# AArch64 half (`unimig run --isa aarch64`), runs CMD (typically the package's own test
# target), then puts the programs back. The fat program waits in DIR/.fat/NAME, so it keeps its
# name (programs print it in messages); timestamps are kept, so make does not rebuild.
with_aarch64_halves() {
  local cmd=() progs=() p fat status=0
  while [ "$1" != "--" ]; do cmd+=("$1"); shift; done
  shift
  progs=("$@")
  for p in "${progs[@]}"; do
    [ -f "$p" ] || { echo "with_aarch64_halves: $p not built" >&2; return 1; }
    fat="$(dirname "$p")/.fat/$(basename "$p")"
    mkdir -p "$(dirname "$fat")"
    mv "$p" "$fat"
    printf '#!/bin/sh\nexec "%s" run --isa aarch64 "$(dirname "$0")/.fat/$(basename "$0")" "$@"\n' \
      "$UNIMIG" > "$p"
    chmod +x "$p"
    touch -r "$fat" "$p"
  done
  "${cmd[@]}" || status=$?
  for p in "${progs[@]}"; do
    mv "$(dirname "$p")/.fat/$(basename "$p")" "$p"
  done
  return $status
}

# autotools_build_and_check: the sequence for an autotools + libtool package whose orig tarball
# has no generated configure: autoreconf (as Debian's build does), a static-only configure,
# make, and the package's own `make check` on x86-64.
autotools_build_and_check() {
  phase "autoreconf -fi"
  autoreconf -fi
  phase "configure --disable-shared"
  ./configure --disable-shared
  phase "make"
  make -j"$JOBS"
  phase "make check (x86-64)"
  make -j"$JOBS" check
}
