# jansson (Debian source package jansson): autotools + libtool. The orig tarball is a git
# snapshot without a generated configure, so autoreconf first (as Debian's build does).
. "$TESTS_DIR/packages/lib.sh"

autotools_build_and_check
# The same test suites (test/run-suites) against the AArch64 halves of the test programs.
phase "make check (aarch64 halves)"
progs=(test/bin/json_process)
for t in test/suites/api/test_*.c; do progs+=("${t%.c}"); done
with_aarch64_halves make -C test check -- "${progs[@]}"
phase "done"
