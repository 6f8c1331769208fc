# libyaml (Debian source package libyaml): autotools + libtool. The orig tarball has no
# generated configure, so autoreconf first. `make` builds the test programs under tests/ too
# (run-emitter-test-suite among them: its string literals are what used to make ld.unimig
# refuse the image). The yaml-test-suite data (`make test-suite`) needs git and the network, so
# the Rust test runs the programs on inputs of its own instead.
. "$TESTS_DIR/packages/lib.sh"

autotools_build_and_check
phase "make check (aarch64 halves)"
with_aarch64_halves make -C tests check -- tests/test-version tests/test-reader
phase "done"
