#!/usr/bin/env bash
# What cutting a sample into several graphs costs on one GPU, run on a lent GPU machine through
# the device tool with `.gpu` carried: the one-GPU sequential schedules of a run (RUN, default
# results/gpu/h200x2-peers, against its calibrated profiles) replayed whole and cut after every
# N stages (`--cut-every`, N in CUTS), and traced cut (segment by segment beside the issue
# model). Named cuts_*, not validate_*: a diagnostic kept out of the fidelity figures.
# Env: MODELS, K (the profiles' GPU count, default 2), ALGO, CUTS, TRACE_CUT, SAMPLES, REPEATS.
# Results go to $OUT as one archive (the device tool returns few files).
set -euo pipefail
source scripts/gpu_env.sh
out="${OUT:-results/gpu/cuts}"
run="${RUN:-results/gpu/h200x2-peers}"
k="${K:-2}"
dev=$(grep -q H100 "$run/gpus.txt" && echo h100 || echo h200)
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpus.txt"
for m in ${MODELS:-resnet50 bert inceptionv3 randwire}; do
  name="${m}_b1_op_k${k}_gpucost"
  w="$run/profiled/$dev/$name.json"
  s="$run/hios/$name/schedules/${name}@k1__${ALGO:-sequential}.json"
  for c in ${CUTS:-0 8 32}; do
    timeout 300 .gpu/bench validate "$w" --schedule "$s" --graphs --cut-every "$c" --samples "${SAMPLES:-30}" \
      --repeats "${REPEATS:-3}" --out "$out/cuts_${m}_b1_op_k${k}_every-$c.json" 2>&1 | tee -a "$out/log.txt"
  done
  c="${TRACE_CUT:-8}"
  timeout 300 .gpu/bench validate "$w" --schedule "$s" --graphs --trace --cut-every "$c" --samples "${SAMPLES:-30}" \
    --repeats "${REPEATS:-3}" --out "$out/cuts_${m}_b1_op_k${k}_every-${c}_traced.json" 2>&1 | tee -a "$out/log.txt"
done
tar -czf /tmp/cuts.tar.gz -C "$out" . && rm -rf "${out:?}"/* && mv /tmp/cuts.tar.gz "$out/"
