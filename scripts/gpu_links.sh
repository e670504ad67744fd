#!/usr/bin/env bash
# Copies and exchanges between GPUs 0 and 1 alone (bench links), on a lent machine with two
# GPUs or more, `.gpu/pack` carried (scripts/gpu_prepare.sh): REPEAT runs with the executor's
# copy kernel, and one by the copy engine (ENGINE=no skips it). Results go to $OUT.
set -uo pipefail
source scripts/gpu_env.sh
out="${OUT:-results/gpu/links}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpus.txt"
for i in $(seq 1 "${REPEAT:-2}"); do
  timeout 300 .gpu/bench links --out "$out/links_$i.json" 2>&1 | tee -a "$out/log.txt"
done
if [ "${ENGINE:-yes}" = yes ]; then
  timeout 300 .gpu/bench links --copy-engine --out "$out/links_engine.json" 2>&1 | tee -a "$out/log.txt"
fi
