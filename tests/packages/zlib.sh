# zlib (Debian source package zlib): its own configure script and Makefile.
. "$TESTS_DIR/packages/lib.sh"

phase "configure --static"
./configure --static
phase "make"
make -j"$JOBS"
phase "make test (x86-64)"
make test
# zlib's Makefile runs its test programs through $(QEMU_RUN): use the AArch64 halves.
phase "make test (aarch64 halves)"
make test QEMU_RUN="$UNIMIG run --isa aarch64"
phase "make infcover"
make infcover
phase "done"
