#!/usr/bin/env bash
# Builds the fuzz targets with clang as libFuzzer binaries (ASan+UBSan) into build-fuzz and runs
# each for SECONDS (default 60), seeded with its corpus tests/fuzz/corpus/<target>/. New inputs go
# to a scratch directory ($FUZZ_WORK, default /tmp/berth-fuzz/<target>), crashes into
# $FUZZ_WORK/<target>-crash/; copy a crash into the corpus when fixing it (the default build
# replays every corpus under ctest, label fuzz). Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(ttrpc_frame_fuzz manifest_fuzz reference_fuzz filters_fuzz config_fuzz layer_fuzz content_write_fuzz
           tasks_create_fuzz)
fi
BUILD_DIR=${BUILD_DIR:-build-fuzz}
WORK=${FUZZ_WORK:-/tmp/berth-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DBERTH_FUZZ=ON -DBERTH_WERROR=OFF -DBERTH_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$BUILD_DIR" -j "${FUZZ_JOBS:-1}" "${targets[@]}"
rc=0
for t in "${targets[@]}"; do
  mkdir -p "$WORK/$t" "$WORK/$t-crash"
  echo "== $t: ${secs}s"
  (cd "$WORK/$t-crash" && "$OLDPWD/$BUILD_DIR/tests/$t" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
     -print_final_stats=1 "$WORK/$t" "$OLDPWD/tests/fuzz/corpus/$t" 2>&1 | grep -E '^(Done|stat::number_of_executed|==.*ERROR|SUMMARY)') || rc=1
done
exit $rc
