#!/usr/bin/env bash
# How many blocks should a copy between GPUs take? Run on a lent machine with two or more GPUs
# (device tool, `.gpu` carried; prepare with scripts/gpu_prepare.sh). Sweeps `--copy-blocks`
# with `bench profile` of a one-layer BERT (link fit, ping-pong, interference beside an
# SM-filling kernel), picks the fewest blocks that keep 90% of the word copy's bandwidth, then
# profiles MODELS at that setting, schedules them with HIOS (K = 1, 2) and replays every
# schedule twice as graphs: word copies on every thread slot, and the picked wide copies.
# Env: MODELS ("model:image ..."), BLOCKS (the sweep), SAMPLES, REPEATS. Results go to $OUT.
set -uo pipefail
source scripts/gpu_env.sh
B="timeout ${STEP_TIMEOUT:-150} .gpu/bench"
out="${OUT:-results/gpu/copy-blocks}"
mkdir -p "$out/sweep" "$out/words" "$out/wide"
log="$out/log.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpus.txt"
gpus=$(nvidia-smi -L | wc -l)
dev=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | grep -q H200 && echo h200 || echo h100)
tiny=(bert --batch 1 --seq 16 --layers 1 --granularity op --accs "$gpus" --cpus 0 --device "$dev" --link nvlink)
gbps() { sed -n 's/.*GPU 0 to GPU 1 (copy kernel[^:]*: [0-9.]* ms + bytes \/ \([0-9.]*\) GB\/s.*/\1/p' "$1"; }
$B profile "${tiny[@]}" --out "$out/sweep/words.json" 2> "$out/sweep/words.txt"; cat "$out/sweep/words.txt" >> "$log"
base=$(gbps "$out/sweep/words.txt")
pick=""
for b in ${BLOCKS:-1056 264 132 66 33 16}; do
  $B profile "${tiny[@]}" --copy-blocks "$b" --out "$out/sweep/wide$b.json" 2> "$out/sweep/wide$b.txt"
  echo "--copy-blocks $b" >> "$log"; cat "$out/sweep/wide$b.txt" >> "$log"
  bw=$(gbps "$out/sweep/wide$b.txt")
  awk -v a="$bw" -v b="$base" 'BEGIN { exit !(a >= 0.9 * b) }' && pick=$b
done
echo "word copies: $base GB/s; picked --copy-blocks ${pick:-none}" | tee -a "$log"
[ -n "$pick" ] || exit 0
samples="${SAMPLES:-30}"; repeats="${REPEATS:-3}"
for spec in ${MODELS:-nasnet:331 randwire:512}; do
  m=${spec%%:*}; img=${spec##*:}
  name="${m//-/}${img}_b1_op_k${gpus}"
  w="$out/profiled/$dev/$name.json"; wg="$out/profiled/$dev/${name}_gpucost.json"
  $B profile "$m" --batch 1 --image "$img" --granularity op --accs "$gpus" --cpus 0 --memory-fraction 0.6 \
    --device "$dev" --link nvlink --copy-blocks "$pick" --out "$w" --gpu-cost-out "$wg" 2>&1 | tee -a "$log" || continue
  $B hios "$wg" --gpus 1 --gpus 2 --algo sequential --algo ios --algo heft --algo hios-lp --algo hios-mr \
    --algo hios-lp-intra --quiet --out "$out/hios/${name}_gpucost" 2>&1 | tee -a "$log"
  s=(); for f in "$out/hios/${name}_gpucost"/schedules/*.json; do s+=(--schedule "$f"); done
  $B validate "$wg" "${s[@]}" --graphs --samples "$samples" --repeats "$repeats" \
    --out "$out/words/validate_hios_graphs_$name.json" 2>&1 | tee -a "$log"
  $B validate "$wg" "${s[@]}" --graphs --copy-blocks "$pick" --samples "$samples" --repeats "$repeats" \
    --out "$out/wide/validate_hios_graphs_$name.json" 2>&1 | tee -a "$log"
done
tar -czf /tmp/gpu_run.tar.gz -C "$out" . && rm -rf "${out:?}"/* && mv /tmp/gpu_run.tar.gz "$out/"
