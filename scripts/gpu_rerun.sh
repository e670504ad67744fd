#!/usr/bin/env bash
# Measures committed runs' graph-replayed HIOS schedules again with this binary, run on a lent
# GPU machine through the device tool with `.gpu/pack` carried: the same schedule files against
# the same profile (the run's own profiled/ copy, else inputs/profiled/, as
# scripts/gpu_remodel.sh picks it), each plan in PROCESSES processes, the median kept. For plans
# an earlier executor ran otherwise: before 2026-11-23 it handed every kernel its task's waits as
# inputs, and each add of a schedule added its predecessor's buffer in (`extra_add_kernels` in
# the old rows). Inception-v3 has no adds: its rows stand.
# Env: RUNS, entries "RUN:MODEL,MODEL" (RUN a folder of results/gpu, MODEL as in its
# validate_hios_graphs_MODEL_b1_op_kK.json); KS (the schedules' GPU counts to run, e.g. "1 2" for
# a 4-GPU run's one- and two-GPU schedules on two GPUs; default all); PROCESSES (3), SAMPLES (30),
# REPEATS (3); DEADLINE
# (seconds, 540: no model starts after it, so that the archive is made within a device call).
# Results go to $OUT/RUN-rerun/, packed into one archive.
set -uo pipefail
source scripts/gpu_env.sh
out="${OUT:-results/gpu/rerun}"
mkdir -p "$out"
for entry in ${RUNS:?give RUNS, e.g. h200x2-peers:bert,randwire}; do
  run=${entry%%:*}
  src="results/gpu/$run"
  dst="$out/$run-rerun"
  mkdir -p "$dst"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$dst/gpus.txt"
  dev=$(grep -q H100 "$src/gpus.txt" && echo h100 || echo h200)
  IFS=, read -ra models <<< "${entry#*:}"
  for m in "${models[@]}"; do
    for f in "$src"/validate_hios_graphs_"${m}"_b1_op_k*.json; do
      [ -e "$f" ] || { echo "no $f" | tee -a "$dst/log.txt"; continue; }
      [ "$SECONDS" -lt "${DEADLINE:-540}" ] || { echo "past the deadline: $f not run" | tee -a "$dst/log.txt"; continue; }
      name=$(basename "$f" .json); name=${name#validate_hios_graphs_}
      w="inputs/profiled/$dev/${name}_gpucost.json.xz"
      [ -e "$src/profiled/$dev/${name}_gpucost.json" ] && w="$src/profiled/$dev/${name}_gpucost.json"
      plans=()
      for s in "$src/hios/${name}_gpucost/schedules/"*.json; do
        k=${s##*@k}; k=${k%%__*}
        [ -z "${KS:-}" ] || [[ " $KS " == *" $k "* ]] || continue
        plans+=(--schedule "$s")
      done
      timeout "${STEP_TIMEOUT:-400}" .gpu/bench validate "$w" "${plans[@]}" --graphs --processes "${PROCESSES:-3}" \
        --samples "${SAMPLES:-30}" --repeats "${REPEATS:-3}" --out "$dst/validate_hios_graphs_$name.json" 2>&1 \
        | tee -a "$dst/log.txt"
    done
  done
done
# The device tool returns a limited number of files: everything travels in one archive.
tar -czf /tmp/gpu_rerun.tar.gz -C "$out" . && rm -rf "${out:?}"/* && mv /tmp/gpu_rerun.tar.gz "$out/"
