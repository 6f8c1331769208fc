# lua5.4 (Debian source package lua5.4, pristine upstream tarball): upstream's Makefile,
# `make linux` (POSIX + dlopen, -Wl,-E) and its `make test`.
. "$TESTS_DIR/packages/lib.sh"

phase "make linux"
make -j"$JOBS" linux CC="$CC"
phase "make test (x86-64)"
make test
phase "make test (aarch64 halves)"
with_aarch64_halves make test -- src/lua
phase "done"
