#!/usr/bin/env bash
# `make demo`: builds examples/demo with unimig-cc, runs the one image on x86-64 natively and on
# AArch64 under qemu-aarch64, and shows that the outputs are identical.
set -euo pipefail
STAGE=$(cd "${1:-build/stage}" && pwd)
export PATH="$STAGE/bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp examples/demo/demo.c examples/demo/Makefile "$work/"
echo "== building examples/demo with CC=unimig-cc"
make -s -C "$work" CC=unimig-cc demo
file_info=$(unimig split "$work/demo" -o "$work/split" >/dev/null && \
  printf 'x86_64 image %s bytes, aarch64 image %s bytes' \
    "$(stat -c %s "$work/split.x86_64")" "$(stat -c %s "$work/split.aarch64")")
echo "   one file, $(stat -c %s "$work/demo") bytes ($file_info)"

for isa in x86_64 aarch64; do
  echo "== unimig run --isa $isa ./demo 9"
  set +e
  (cd "$work" && unimig run --isa "$isa" ./demo 9 "out.$isa" >"stdout.$isa" 2>"stderr.$isa")
  echo $? >"$work/status.$isa"
  set -e
  sed 's/^/   /' "$work/stdout.$isa"
  echo "   exit status $(cat "$work/status.$isa")"
done

same=1
for what in stdout stderr status out; do
  if ! cmp -s "$work/$what.x86_64" "$work/$what.aarch64"; then
    echo "!! $what differs between x86_64 and aarch64:"
    diff "$work/$what.x86_64" "$work/$what.aarch64" || true
    same=0
  fi
done
if [ "$same" = 1 ]; then
  echo "== identical stdout, stderr, exit status and output file on x86_64 and aarch64"
else
  exit 1
fi
