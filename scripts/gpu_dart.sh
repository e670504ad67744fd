#!/usr/bin/env bash
# The pipeline family on a lent GPU machine, with `.gpu/bench` and `.gpu/lib` carried (built by
# scripts/gpu_prepare.sh, or `strip -o .gpu/bench target-cuda/release/bench`): every method's
# choice for the h200-zoo preset run for DURATION seconds (default 60), each method in a
# process of its own, its rows under NAME/periods-xSCALE/METHOD, archived as $OUT/NAME.tar.xz. Env: METHODS,
# DURATION, SET (default h200-zoo), PROFILE_RUNS, NAME (default dart), SCALES (period scales,
# default 1), MARGIN (the WCET margin, default 0.25),
# MIXED (non-empty: real-time layers also profiled beside the best-effort load), CPU (real or
# modelled, default real; the CPU profile is made once and shared by the methods' processes),
# CPU_PROFILE_RUNS (default 3), CALIBRATE (seconds of each calibration run, default 0: none),
# NODE_WAIT (poll or sleep, default poll), CPU_PROFILE (the CPU profile's file, default in NAME).
set -uo pipefail
source scripts/gpu_env.sh
# The runs go to a folder of their own, archived into $OUT at the end (one file comes back).
name="${NAME:-dart}"
out="${WORK:-/tmp}/$name"
rm -rf "$out"
duration="${DURATION:-60}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpus.txt"
nproc > "$out/cores.txt"
for scale in ${SCALES:-1}; do
  for m in ${METHODS:-dart one-node no-data-parallel sequential gpu-multistream np-edf}; do
    run="$out/periods-x$scale/$m"
    mkdir -p "$(dirname "$run")"
    timeout $((${duration%.*} + 400)) .gpu/bench dart "${SET:-h200-zoo}" --gpu --duration "$duration" \
      --period-scale "$scale" --profile-runs "${PROFILE_RUNS:-30}" --margin "${MARGIN:-0.25}" ${MIXED:+--profile-mixed} \
      --cpu "${CPU:-real}" --cpu-profile "${CPU_PROFILE:-$out/cpu_profile.json}" --node-wait "${NODE_WAIT:-poll}" --cpu-profile-runs "${CPU_PROFILE_RUNS:-3}" --calibrate "${CALIBRATE:-0}" --method "$m" --out "$run" --quiet > "$run.txt" 2>&1
    echo "x$scale $m: exit $?"; grep -v '^wrote' "$run.txt" | grep -v 'ms median' | tail -3
    # Archived after every run, so that a call cut short still brings back what it did.
    mkdir -p "${OUT:-results/gpu}"
    tar -cJf "${OUT:-results/gpu}/$name.tar.xz" -C "$(dirname "$out")" "$name"
  done
done
