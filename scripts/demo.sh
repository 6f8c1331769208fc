#!/usr/bin/env bash
# `make demo`: builds examples/demo with unimig-cc, runs the one image on x86-64 natively and on
# AArch64 under qemu-aarch64, and shows that the outputs are identical; then runs it again,
# migrating x86-64 -> AArch64 -> x86-64 ... mid-run, shows that the output is still identical
# and prints the migrations' timings.
set -euo pipefail
STAGE=$(cd "${1:-build/stage}" && pwd)
export PATH="$STAGE/bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp examples/demo/demo.c examples/demo/Makefile "$work/"
echo "== building examples/demo with CC=unimig-cc"
make -s -C "$work" CC=unimig-cc CFLAGS="-O2 -Wall -funimig-points=all -funimig-stackmaps" demo
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

# A JSON field of the report (one "key": value per line, as unimig writes it).
field() { sed -n "s/^ *\"$1\": \([^,]*\),\{0,1\}$/\1/p" "$2" | tr -d '"'; }

echo "== counting the migration points of ./demo 9"
(cd "$work" && unimig run --count-points --report count.json ./demo 9 out.count >/dev/null)
total=$(field points "$work/count.json")
points=""
for i in 1 2 3 4 5 6; do points="$points${points:+,}$((i * total / 7))"; done
echo "   $total points; migrating at $points"
echo "== unimig run --migrate-at $points --report report.json ./demo 9 (starts on x86_64)"
set +e
(cd "$work" && unimig run --migrate-at "$points" --report report.json ./demo 9 out.migrated \
  >stdout.migrated 2>stderr.migrated)
echo $? >"$work/status.migrated"
set -e
for what in stdout stderr status; do
  if ! cmp -s "$work/$what.x86_64" "$work/$what.migrated"; then
    echo "!! $what of the migrated run differs from the native run:"
    diff "$work/$what.x86_64" "$work/$what.migrated" || true
    exit 1
  fi
done
cmp -s "$work/out.x86_64" "$work/out.migrated" || { echo "!! output file differs"; exit 1; }
# Only the "migrations" array (failures have a "from" too).
sed -n '/"migrations"/,/^  \]/p' "$work/report.json" >"$work/migrations.json"
echo "   migrations (from -> to at point: downtime, checkpoint size, transformation time):"
m="$work/migrations.json"
paste -d' ' <(field from "$m") <(field to "$m") <(field point "$m") <(field downtime_us "$m") \
  <(field checkpoint_bytes "$m") <(field transform_us "$m") |
  while read -r from to point down bytes xform; do
    printf '   %-8s -> %-8s at %6s: downtime %6.1f ms, checkpoint %7d KiB, transform %5d us\n' \
      "$from" "$to" "$point" "$(awk "BEGIN { print $down / 1000 }")" "$((bytes / 1024))" "$xform"
  done
n=$(field from "$m" | wc -l)
[ "$n" -ge 2 ] || { echo "!! only $n migrations happened"; cat "$work/report.json"; exit 1; }
echo "== $n migrations; stdout, stderr, exit status and output file identical to the native run"
