#!/usr/bin/env bash
# Runs `bench validate` on the lent GPU machine for every workload in .gpu/w and the
# placements that `bench throughput` wrote for it under .gpu/p/<name>/placements.
# Prepare here (x86-64): build with `cargo build --release --features cuda`, strip the binary
# into .gpu/bench, copy the workloads into .gpu/w, run `bench throughput ... --out .gpu/p/<name>`;
# then run this script through the device tool with `.gpu` carried. Results go to $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="$(pwd)/.gpu/lib:${LD_LIBRARY_PATH:-}"
out="${OUT:-results/gpu}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpus.txt"
for w in .gpu/w/${ONLY:-*}.json; do
  name=$(basename "$w" .json)
  placements=(.gpu/p/"$name"/placements/*.json)
  [ -e "${placements[0]}" ] || continue
  .gpu/bench validate "$w" "${placements[@]}" --samples "${SAMPLES:-100}" --repeats "${REPEATS:-5}" \
    --out "$out/validate_$name.json" 2>&1 | tee -a "$out/log.txt"
done
