#!/usr/bin/env bash
# Where the stages' concurrency goes, run on a lent GPU machine through the device tool with
# `.gpu` carried: the one-GPU sequential, IOS and HIOS-LP-intra schedules of a run (RUN, default
# results/gpu/h100-peers, against its calibrated profiles) replayed with `--stage-times`: each
# concurrent stage alone, and the whole schedule without its data dependencies, side by side
# and on one stream. Once per CUDA_DEVICE_MAX_CONNECTIONS in CONNECTIONS ("default" leaves it
# unset): the hardware queues a graph's parallel branches are spread over. Results go to $OUT.
# Named stage_times_*, not validate_*: one process per plan, a diagnostic kept out of the
# fidelity figures.
set -euo pipefail
source scripts/gpu_env.sh
out="${OUT:-results/gpu/concurrency}"
run="${RUN:-results/gpu/h100-peers}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpus.txt"
for c in ${CONNECTIONS:-default 32}; do
  for m in ${MODELS:-inceptionv3 bert resnet50 randwire}; do
    w="$run/profiled/h100/${m}_b1_op_k1_gpucost.json"
    s="$run/hios/${m}_b1_op_k1_gpucost/schedules/${m}_b1_op_k1_gpucost@k1__"
    ( [ "$c" = default ] || export CUDA_DEVICE_MAX_CONNECTIONS="$c"
      timeout 300 .gpu/bench validate "$w" --graphs --stage-times --processes "${PROCESSES:-1}" --samples 30 --repeats 3 \
        --schedule "${s}sequential.json" --schedule "${s}ios.json" --schedule "${s}hios-lp-intra.json" \
        --out "$out/stage_times_${m}_b1_op_k1_connections-$c.json" 2>&1 | tee -a "$out/log.txt" )
  done
done
