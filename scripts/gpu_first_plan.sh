#!/usr/bin/env bash
# The first-plan check, run on a lent GPU machine through the device tool with `.gpu` carried:
# one graph-replayed placement validated three times in one process (`--in-process`) and three
# times with the default (a process per plan), then every placement of the same workload in
# both orders with the default. In one process the first plan measured 7–9% faster than the
# rest (results/gpu-history/h200-first-plan-in-process); with a process per plan every copy of
# the same plan should measure the same. Results go to $OUT (or results/gpu/first-plan).
# Env: W (workload), P (folder of placements; the first in name order is the repeated one),
# SAMPLES, REPEATS.
set -euo pipefail
source scripts/gpu_env.sh
w="${W:-results/gpu/h100-process-per-plan/profiled/h100/bert_b1_op_k1_gpucost.json}"
p="${P:-results/gpu/h100-process-per-plan/place/bert_b1_op_k1_gpucost/placements}"
out="${OUT:-results/gpu/first-plan}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv,noheader | tee "$out/gpus.txt"
# The clocks, power and throttle reasons through the run: a GPU slowing down would show here.
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active \
  --format=csv -lms 100 > "$out/clocks.csv" &
smi=$!
trap 'kill $smi 2>/dev/null || true' EXIT
plans=("$p"/*.json)
one="${plans[0]}"
v() { timeout 150 .gpu/bench validate "$w" --graphs --samples "${SAMPLES:-30}" --repeats "${REPEATS:-3}" "$@"; }
v "$one" "$one" "$one" --in-process --out "$out/same_in_process.json" 2>&1 | tee -a "$out/log.txt"
v "$one" "$one" "$one" --out "$out/same_process_per_plan.json" 2>&1 | tee -a "$out/log.txt"
v "${plans[@]}" --out "$out/forward.json" 2>&1 | tee -a "$out/log.txt"
mapfile -t reversed < <(printf '%s\n' "${plans[@]}" | sort -r)
v "${reversed[@]}" --out "$out/reversed.json" 2>&1 | tee -a "$out/log.txt"
