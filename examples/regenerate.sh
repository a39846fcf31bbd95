#!/usr/bin/env bash
# Regenerates every committed example output from the bundled models:
#   examples/report/digits_mlp_test_4x4.html   (spikeforge report)
#   examples/sweep/results.csv, pareto.svg     (spikeforge sweep)
#
# Usage, from anywhere in the repository:
#   examples/regenerate.sh            rewrite the committed files
#   examples/regenerate.sh DIR        write them under DIR instead (DIR/report/…, DIR/sweep/…)
# The binary is $SPIKEFORGE, else target/release/spikeforge (build it with
# `cargo build --release`). Intermediate files go to a scratch folder, target/examples-scratch,
# under a fixed name because the report page names the core map it was made from.
# tests/examples.rs runs this script into a temporary DIR and requires byte-identical files,
# so an example that no longer matches the code fails the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-examples}"
sf="${SPIKEFORGE:-target/release/spikeforge}"
if [ ! -x "$sf" ]; then
    echo "no spikeforge binary at $sf: run \`cargo build --release\` or set SPIKEFORGE" >&2
    exit 2
fi
scratch=target/examples-scratch
mkdir -p "$scratch" "$out/report" "$out/sweep"

# The report page of the digit classifier on the test_4x4 chip, 32 samples.
"$sf" compile examples/digits_mlp/model.nir --target test_4x4 -o "$scratch/digits_mlp_test_4x4.map" >/dev/null
"$sf" report "$scratch/digits_mlp_test_4x4.map" --input examples/digits_mlp/input.npy \
    -o "$out/report/digits_mlp_test_4x4.html" >/dev/null

# The design-space sweep of the README: the conv digit classifier on Loihi variants.
"$sf" sweep --model examples/digits_cnn/model.nir --target loihi \
    --grid "core.max_neurons=[64,256,1024]; core.synapse_memory_kib=[2,16,128]; noc.mesh=[2x2,8x4]; noc.link_bits_per_cycle=[8,32]" \
    --input examples/digits_cnn/input.npy \
    -o "$out/sweep/results.csv" --plot "$out/sweep/pareto.svg" >/dev/null
echo "wrote $out/report/digits_mlp_test_4x4.html, $out/sweep/results.csv, $out/sweep/pareto.svg"
