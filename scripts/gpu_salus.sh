#!/usr/bin/env bash
# The sharing family on a lent GPU machine, with `.gpu/bench` and `.gpu/lib` carried (built by
# scripts/gpu_prepare.sh, or `strip -o .gpu/bench target-cuda/release/bench`): each policy of
# POLICIES (default fifo srtf fair pack exclusive-fifo mps) run on TRACE (default gpu-trace) at
# MEMORY GiB (default 6), each in a process of its own; the first process profiles the tenants,
# pairs and switches and the others read its profile. SEED (default 0) seeds the preset's
# trace; COMBINE (default additive) how pair slowdowns combine for three or more jobs. Rows
# under NAME/POLICY, archived as $OUT/NAME.tar.xz after every run.
set -uo pipefail
source scripts/gpu_env.sh
name="${NAME:-salus}"
out="${WORK:-/tmp}/$name"
rm -rf "$out"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpus.txt"
for p in ${POLICIES:-fifo srtf fair pack exclusive-fifo mps}; do
  timeout 420 .gpu/bench salus "${TRACE:-gpu-trace}" --gpu --memory-gib "${MEMORY:-6}" --policy "$p" --seed "${SEED:-0}" --combine "${COMBINE:-additive}" \
    --gpu-profile "$out/gpu_profile.json" --out "$out/$p" --quiet > "$out/$p.txt" 2>&1
  echo "$p: exit $?"; grep -E "makespan|violations|error" "$out/$p.txt" | tail -2
  mkdir -p "${OUT:-results/gpu}"
  tar -cJf "${OUT:-results/gpu}/$name.tar.xz" -C "$(dirname "$out")" "$name"
done
