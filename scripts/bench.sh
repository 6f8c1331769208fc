#!/usr/bin/env bash
# `make bench`: every benchmark, printed as a report. BENCH_RUNS sets runs per figure (default 5).
set -euo pipefail
STAGE=${1:-build/stage}
cd "$(dirname "$0")/.."
echo "# unimig benchmarks ($(date -u +%Y-%m-%d), $(nproc) cores)"
bash scripts/bench/build-time.sh "$STAGE"
bash scripts/bench/image-size.sh "$STAGE"
bash scripts/bench/runtime-overhead.sh "$STAGE"
bash scripts/bench/response.sh "$STAGE"
bash scripts/bench/migration.sh "$STAGE"
