#!/usr/bin/env bash
# Order against overlap, run on a lent GPU machine through the device tool with `.gpu`
# carried: the one-GPU IOS and HIOS-LP-intra schedules of results/gpu/h100-calibrated replayed
# as they are, with each stage's groups run one after another on one stream instead
# (`serialized/`, made from them by joining a stage's groups in order), and the sequential
# schedule, each in three processes. Same operators, same stage order: what the parallel streams
# gain over one stream, apart from what the stage order costs against the builder's.
# Results go to $OUT (or results/gpu/stage-order).
set -euo pipefail
source scripts/gpu_env.sh
out="${OUT:-results/gpu/stage-order}"
run=results/gpu/h100-calibrated
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpus.txt"
for m in ${MODELS:-inceptionv3 bert resnet50 randwire nasnet}; do
  w="inputs/profiled/h100/${m}_b1_op_k1_gpucost.json.xz"
  s="$run/hios/${m}_b1_op_k1_gpucost/schedules/${m}_b1_op_k1_gpucost@k1__"
  z="results/gpu/h100-stage-order/serialized/${m}_b1_op_k1_gpucost@k1__"
  timeout 300 .gpu/bench validate "$w" --graphs --processes "${PROCESSES:-3}" --samples 30 --repeats 3 \
    --schedule "${s}sequential.json" --schedule "${s}ios.json" --schedule "${s}hios-lp-intra.json" \
    --schedule "${z}ios-serialized.json" --schedule "${z}hios-lp-intra-serialized.json" \
    --out "$out/validate_hios_graphs_${m}_b1_op_k1.json" 2>&1 | tee -a "$out/log.txt"
done
