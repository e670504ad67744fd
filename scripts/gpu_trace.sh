#!/usr/bin/env bash
# Where the time of a schedule over several GPUs goes, run on a lent GPU machine through the
# device tool with `.gpu` carried: the K-GPU HIOS schedules of a run (RUN, default
# results/gpu/h200x2-peers, against its calibrated profiles) replayed with `--trace`: each
# segment's start and end and each copy's, per GPU, beside the issue model's; and, to see what
# the stamps cost, replayed untraced too. Named trace_* and untraced_*, not validate_*: one
# process per plan, a diagnostic kept out of the fidelity figures.
# Env: MODELS, K (default 2), ALGOS, SAMPLES, REPEATS, FLAGS (more `bench validate` flags, e.g.
# --no-copies) and TAG (added to the file names). Results go to $OUT.
set -euo pipefail
source scripts/gpu_env.sh
out="${OUT:-results/gpu/trace}"
run="${RUN:-results/gpu/h200x2-peers}"
k="${K:-2}"
dev=$(grep -q H100 "$run/gpus.txt" && echo h100 || echo h200)
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpus.txt"
for m in ${MODELS:-inceptionv3 bert resnet50 randwire}; do
  name="${m}_b1_op_k${k}_gpucost"
  w="$run/profiled/$dev/$name.json"
  plans=()
  for a in ${ALGOS:-heft hios-lp hios-mr hios-lp-intra}; do
    s="$run/hios/$name/schedules/${name}@k${k}__$a.json"
    # A schedule that keeps everything on one GPU has nothing to trace between GPUs.
    [ -e "$s" ] && plans+=(--schedule "$s")
  done
  [ ${#plans[@]} -gt 0 ] || continue
  for how in untraced trace; do
    flag=; if [ $how = trace ]; then flag=--trace; fi
    timeout 300 .gpu/bench validate "$w" --graphs $flag ${FLAGS:-} --samples "${SAMPLES:-30}" --repeats "${REPEATS:-3}" \
      "${plans[@]}" --out "$out/${how}${TAG:-}_hios_graphs_${m}_b1_op_k${k}.json" 2>&1 | tee -a "$out/log.txt"
  done
done
