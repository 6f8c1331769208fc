#!/usr/bin/env bash
# Image size and padding of the cross-ISA layout on real programs: zlib's example and minigzip
# (built by their own configure + make with unimig-cc), each relinked through
# scripts/image-size.sh, which compares the laid-out images with plain single-ISA lld links of
# the same inputs.
set -euo pipefail
STAGE=$(cd "${1:?usage: image-size.sh STAGE}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
tarball=$("$root/scripts/fetch-debsrc.sh" zlib "$root/build/debsrc")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PATH="$STAGE/bin:$PATH"
tar -xf "$tarball" -C "$work" --strip-components=1
(cd "$work" && CC=unimig-cc ./configure --static >/dev/null && make -j2 libz.a example.o minigzip.o >/dev/null 2>&1)
for prog in example minigzip; do
  echo "## zlib $prog"
  (cd "$work" && "$root/scripts/image-size.sh" unimig-cc -O2 -o "$prog" "$prog.o" -L. libz.a) \
    >"$work/report.txt" 2>&1
  grep -v -e "keeping temporary files" -e "^work directory:" "$work/report.txt"
  # image-size.sh keeps ld.unimig's work directory (and unimig-cc's) for inspection; drop them.
  sed -n 's/^work directory: //p; s/^.*keeping temporary files in //p' "$work/report.txt" |
    xargs -r rm -rf
done
