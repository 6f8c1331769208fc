# bzip2 (Debian source package bzip2): upstream's plain Makefile ($(CC), $(AR), $(RANLIB)).
. "$TESTS_DIR/packages/lib.sh"

phase "make libbz2.a bzip2 bzip2recover"
make -j"$JOBS" CC="$CC" libbz2.a bzip2 bzip2recover
phase "make test (x86-64)"
make test CC="$CC"
phase "make test (aarch64 halves)"
with_aarch64_halves make test CC="$CC" -- bzip2
phase "done"
