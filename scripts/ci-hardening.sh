#!/usr/bin/env bash
# CI's hardening stage (issue 15), run by .ci/run after the main test run when BERTH_CI_HARDENING=1:
#  1. fuzz: clang libFuzzer tree build-fuzz (BERTH_FUZZ=ON: ASan+UBSan, -O1, only the fuzz targets);
#     ctest -L fuzz fuzzes each target for BERTH_FUZZ_SECONDS (default 30) from its corpus; a crash
#     fails its test and lands in build-fuzz/fuzz-work/<target>-crash/.
#  2. sanitizers: gcc tree build-asan (BERTH_SANITIZE=ON, -O1, only berthd, the shim, the CLI, the
#     test tools and the unit tests); ctest runs every unit test and the integration tests that
#     exercise berthd and the shim hardest ($BERTH_ASAN_TESTS). ASan/LSan/UBSan reports of every
#     process (berthd and shims included, whose exit status the tests do not see) go to
#     $BERTH_ASAN_LOGS; any report, a leak included, fails the stage.
# BERTH_CI_FUZZ=0 / BERTH_CI_SANITIZE=0 skip a part. Usage: scripts/ci-hardening.sh
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
rc=0
FUZZ_TARGETS=(ttrpc_frame_fuzz manifest_fuzz reference_fuzz filters_fuzz config_fuzz layer_fuzz content_write_fuzz
              tasks_create_fuzz)
if [[ "${BERTH_CI_FUZZ:-1}" != 0 ]]; then
  t0=$SECONDS
  # -O1 and line tables only: quicker to compile than RelWithDebInfo; stacks still name lines.
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DBERTH_FUZZ=ON -DBERTH_WERROR=OFF -DBERTH_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="-O1 -gline-tables-only" -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" \
    -DBERTH_FUZZ_SECONDS="${BERTH_FUZZ_SECONDS:-30}" >/dev/null
  ninja -C build-fuzz -j "$jobs" "${FUZZ_TARGETS[@]}"
  t1=$SECONDS
  ctest --test-dir build-fuzz -L fuzz --output-on-failure -j "$jobs" || rc=1
  echo "ci-hardening: fuzz tree built in $((t1 - t0)) s, fuzzed in $((SECONDS - t1)) s"
fi
if [[ "${BERTH_CI_SANITIZE:-1}" != 0 ]]; then
  t0=$SECONDS
  cmake -S . -B build-asan -G Ninja -DBERTH_SANITIZE=ON -DBERTH_WERROR=OFF -DBERTH_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="-O1 -g1" -DCMAKE_CXX_FLAGS="-O1 -g1" >/dev/null
  units=$(sed -n 's/^berth_unit_test(\([a-z_0-9]*\).*/\1/p' tests/unit/CMakeLists.txt)
  # shellcheck disable=SC2086
  ninja -C build-asan -j "$jobs" berthd containerd-shim-berth-v2 berth berth-init berth-pause berth-test-task \
    berth-test-flood $units
  t1=$SECONDS
  logs=${BERTH_ASAN_LOGS:-$PWD/build-asan/sanitizer-logs}
  rm -rf "$logs"
  mkdir -p "$logs"
  export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0"
  export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"
  export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
  tests=${BERTH_ASAN_TESTS:-integration\.(restart|shim_process|shim_contract_io|shim_contract_kill|content|pull|limits)$}
  ctest --test-dir build-asan -L unit --output-on-failure -j "$jobs" || rc=1
  ctest --test-dir build-asan -R "$tests" --output-on-failure || rc=1
  if compgen -G "$logs/*" >/dev/null; then
    echo "ci-hardening: sanitizer reports:"
    for f in "$logs"/*; do
      echo "== $f"
      head -n 60 "$f"
    done
    rc=1
  fi
  echo "ci-hardening: sanitizer tree built in $((t1 - t0)) s, tested in $((SECONDS - t1)) s"
fi
exit $rc
