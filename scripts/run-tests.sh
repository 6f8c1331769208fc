#!/usr/bin/env bash
# `make test` after the build: the runtime's own tests (C, both ISAs), then every Rust test in
# the workspace. Ends with one summary line counting every cargo test, so the result is clear
# at the bottom of a long log: "tests: N passed, N failed, N skipped".
set -uo pipefail
STAGE=$(cd "${1:?usage: run-tests.sh STAGE}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

make -s -C "$root/sysroots/runtime" test OUT="$root/build/runtime" \
  SYSROOTS="$STAGE/lib/unimig/sysroots"
runtime_status=$?

UNIMIG_PREFIX="$STAGE" cargo test --release --workspace --no-fail-fast 2>&1 | tee "$log"
cargo_status=${PIPESTATUS[0]}

awk '/^test result:/ { for (i = 1; i <= NF; i++) {
       if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
if [ "$runtime_status" != 0 ]; then
  echo "runtime tests failed (sysroots/runtime/tests/run-tests.sh)"
fi
[ "$runtime_status" = 0 ] && [ "$cargo_status" = 0 ]
