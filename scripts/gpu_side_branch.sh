#!/usr/bin/env bash
# What second streams cost a GPU whose plan is otherwise one stream, run on a lent GPU machine
# through the device tool with `.gpu` (or `.gpu/pack`) carried: each model's one-device latency
# placement of the runs in RUNS (their calibration/ folders, against their calibrated
# profiles), graph-replayed one sample at a time as it is and with `--side-branches N` for
# each N in EVERY (a 1 µs busy task forked beside the first operator of every N-th stage).
# Named side_plain_* and side_every-N_*, not validate_*: a diagnostic kept out of the fidelity
# figures. BRANCH=remote makes remote branches instead (`--remote-branches N`: a 1 µs task on
# GPU 1 fed by the first operator of every N-th stage, feeding back four stages later; needs
# two GPUs), named remote_plain_* and remote_every-N_*.
# Env: RUNS (default results/gpu/h200x2-peers), EVERY (default 1), BRANCH (side or remote),
# RETURN (remote branches: return this many stages on, `--remote-return`; files then named
# remote_every-N-return-R_*), MODELS (the calibration folders to run, e.g. "randwire_b1_op_k2";
# default all), PROCESSES (default 3), SAMPLES, REPEATS. Results go to $OUT.
set -euo pipefail
source scripts/gpu_env.sh
out="${OUT:-results/gpu/side-branch}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpus.txt"
for run in ${RUNS:-results/gpu/h200x2-peers}; do
  dev=$(grep -q H100 "$run/gpus.txt" && echo h100 || echo h200)
  for c in "$run"/calibration/*/; do
    name=$(basename "$c")
    [ -z "${MODELS:-}" ] || [[ " $MODELS " == *" $name "* ]] || continue
    w="$run/profiled/$dev/${name}_gpucost.json"
    p=("$c"/latency/placements/*.json)
    [ -e "$w" ] && [ -e "${p[0]}" ] || continue
    for how in plain ${EVERY:-1}; do
      flags=(); tag=plain; branch="${BRANCH:-side}"
      if [ "$how" != plain ]; then flags=("--$branch-branches" "$how"); tag="every-$how"; fi
      if [ "$how" != plain ] && [ "$branch" = remote ] && [ -n "${RETURN:-}" ]; then
        flags+=(--remote-return "$RETURN"); tag="$tag-return-$RETURN"
      fi
      timeout 300 .gpu/bench validate "$w" "${p[@]}" --latency --graphs "${flags[@]}" --processes "${PROCESSES:-3}" \
        --samples "${SAMPLES:-100}" --repeats "${REPEATS:-5}" --out "$out/${branch}_${tag}_$name.json" 2>&1 | tee -a "$out/log.txt"
    done
  done
done
