# gzip (Debian source package gzip, upstream release tarball): autotools configure with
# gnulib's many feature probes, `make`, `make check` (26 shell tests driving ./gzip).
. "$TESTS_DIR/packages/lib.sh"

phase "configure"
./configure
phase "make"
make -j"$JOBS"
phase "make check (x86-64)"
make -j"$JOBS" check
phase "make check (aarch64 half of gzip)"
with_aarch64_halves make -j"$JOBS" check -- gzip
phase "done"
