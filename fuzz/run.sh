#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each from a seed corpus of real files,
# then prints one line per target: seconds, executions, exec/s, crashes.
#
#   fuzz/run.sh [SECONDS] [TARGET...]        (default 60 s, all targets)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); runs on the stable toolchain through
# RUSTC_BOOTSTRAP=1. FUZZ_SANITIZER=address|none (default address; CI's smoke run uses
# none, which builds faster). The growing corpus is kept in fuzz/corpus/TARGET, crashing
# inputs in fuzz/artifacts/TARGET (both ignored by git). Exit code 1 if any target crashed.
# Reproduce one crash: RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET fuzz/artifacts/TARGET/crash-…
set -uo pipefail
cd "$(dirname "$0")"
fuzz_dir=$(pwd)
root=$(cd .. && pwd)
shared=$(cd "$root/.." && pwd)/shared
seconds=${1:-60}
shift || true
all=(snn_text nir_hdf5 target_ron npy passes_spec core_map)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
sanitizer=${FUZZ_SANITIZER:-address}
# FUZZ_PROFILE=dev builds without optimisation: several times faster to build, slower to
# run; CI's smoke run uses it. Default: release (with debug assertions).
profile=${FUZZ_PROFILE:-release}
build_flags=()
[ "$profile" = dev ] && build_flags=(--dev)
bin_dir=$([ "$profile" = dev ] && echo debug || echo release)
# Seconds one input may take before libFuzzer calls it a hang: unoptimised builds read the
# larger seed models (golden NIR files, shared HDF5 groups) many times slower.
unit_timeout=$([ "$profile" = dev ] && echo 120 || echo 10)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
  exit 2
fi
export RUSTC_BOOTSTRAP=1
# The repository's .cargo/config.toml asks for target-cpu=native; cargo-fuzz sets its own
# RUSTFLAGS, which replace it. Keep the fuzz build out of the main target directory.
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$fuzz_dir/target}

# Seed files per target: real inputs the readers accept, and known bad ones.
seeds_for() {
  case "$1" in
  snn_text) ls "$root"/examples/*.snn "$root"/tests/bad_inputs/*.snn "$fuzz_dir"/seeds/snn_text/* ;;
  nir_hdf5) ls "$root"/examples/*/*.nir "$shared"/golden/*/*.nir "$root"/tests/bad_inputs/*.nir \
    "$root"/compiler/tests/fixtures/nir/latest/*.nir ;;
  target_ron) ls "$root"/targets/*.ron "$root"/tests/bad_inputs/*.ron ;;
  npy) ls "$root"/examples/*.npy "$shared"/golden/rsnn_random/*.npy "$root"/tests/bad_inputs/*.npy ;;
  passes_spec) ls "$fuzz_dir"/seeds/passes_spec/* ;;
  core_map) ls "$fuzz_dir"/seeds/core_map/* "$root"/tests/bad_inputs/*.map ;;
  esac 2>/dev/null
}

echo "building ${targets[*]} (sanitizer: $sanitizer, profile: $profile)"
triple=$(rustc -vV | sed -n 's/^host: //p')
# One build of all targets: the libraries dominate, the targets are small.
if ! cargo fuzz build "${build_flags[@]}" -s "$sanitizer" >"$fuzz_dir/build.log" 2>&1; then
  tail -20 "$fuzz_dir/build.log" >&2
  echo "fuzz build failed (log: fuzz/build.log)" >&2
  exit 2
fi

status=0
summary=()
for t in "${targets[@]}"; do
  seeds="$fuzz_dir/corpus/seeds-$t"
  rm -rf "$seeds"
  mkdir -p "$seeds" "corpus/$t" "artifacts/$t"
  seeds_for "$t" | while read -r f; do cp "$f" "$seeds/"; done
  before=$(ls "artifacts/$t" | grep -cE "^(crash|timeout|oom|leak)-")
  log="$fuzz_dir/artifacts/$t.log"
  # The binary built above, run directly (`cargo fuzz run` would rebuild on any edit).
  "$CARGO_TARGET_DIR/$triple/$bin_dir/$t" "corpus/$t" "$seeds" -artifact_prefix="artifacts/$t/" \
    -max_total_time="$seconds" -timeout="$unit_timeout" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  after=$(ls "artifacts/$t" | grep -cE "^(crash|timeout|oom|leak)-")
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=$((after - before))
  if [ $rc -ne 0 ] || [ $crashes -gt 0 ]; then
    status=1
    echo "== $t: FAILED (exit $rc); log: $log" >&2
    grep -m 5 -E 'panicked|ERROR|Test unit written|SUMMARY' "$log" >&2
  fi
  echo "$t: ${execs:-?} executions in ${seconds}s, $crashes new crashes"
  summary+=("$(printf '%-12s %6ss %12s execs %8s exec/s %3s new crashes' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "$crashes")")
done
printf '%s\n' "${summary[@]}"
exit $status
