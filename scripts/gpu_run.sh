#!/usr/bin/env bash
# The GPU batch, run on a lent GPU machine through the device tool with `.gpu` carried:
# profile zoo models on this machine's GPUs (bench profile), place and schedule the profiled
# workloads with the algorithms (CPU), run the placements and schedules on the GPUs
# (bench validate) and, on machines with several GPUs, re-run the paper's workloads as busy
# kernels. Prepare on the CPU machine with scripts/gpu_prepare.sh. Results go to $OUT.
# Env: MODELS ("model:image ..."), VALIDATE (models to schedule with HIOS and run), PLACE (of
# those, the models also placed for throughput and latency and run: the DP needs graphs whose
# ideals it can enumerate, not NASNet's or RandWire's), ACCS (accelerators of the profiled
# workloads; default: the GPUs present), KS (HIOS GPU counts), GRAPH_KS (the same for graph
# replays; default 1), EAGER_HIOS (no: skip eager HIOS runs), EAGER_PLACE (no: skip eager runs of
# the placements; graph replays only), PROFILED (a folder of profiles
# made before: skip profiling), CALIBRATE (no: use the GPU-time profile as measured, without
# bench calibrate), CUTS (no: calibrate without the cut run that sets each later graph's cost),
# FORKED (no: without the side-branch run that sets what a forking GPU loses of the calibration),
# PROCESSES (per plan; the median is kept), STAGE_TIMES (no: skip timing the graph-replayed
# schedules' concurrent stages alone), SAMPLES, REPEATS, PAPER_NAMES (none: skip the paper's).
set -uo pipefail
source scripts/gpu_env.sh
# A hung step costs device time: every step has a time limit.
B="timeout ${STEP_TIMEOUT:-150} .gpu/bench"
# Each plan in PROCESSES processes of its own, the median kept: processes differed by up to 8%.
V="$B validate --processes ${PROCESSES:-1}"
out="${OUT:-results/gpu/run}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpus.txt"
gpus=$(nvidia-smi -L | wc -l)
accs="${ACCS:-$gpus}"
ks="${KS:-$( [ "$gpus" -ge 2 ] && echo "1 2" || echo 1 )}"
frac=$(awk -v k="$accs" 'BEGIN { print (k > 1) ? 1.2 / k : 1.0 }')
dev=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | grep -q H200 && echo h200 || echo h100)
samples="${SAMPLES:-100}"
repeats="${REPEATS:-5}"
log="$out/log.txt"
hios_ks() { for k in $1; do echo --gpus "$k"; done; }
schedules() { for s in "$1"/schedules/*.json; do echo --schedule "$s"; done; }
for spec in ${MODELS:-inception-v3:299 bert:0 resnet50:224 randwire:224}; do
  m=${spec%%:*}; img=${spec##*:}
  name="${m//-/}_b1_op_k${accs}"
  # A model run at several image sizes gets the size in its names.
  [ "$(grep -o " $m:" <<< " ${MODELS:-}" | wc -l)" -gt 1 ] && name="${m//-/}${img}_b1_op_k${accs}"
  w="$out/profiled/$dev/$name.json"          # eager cost: max(GPU, host issue) per operator
  wg="$out/profiled/$dev/${name}_gpucost.json" # GPU time only: what a CUDA-graph replay pays
  if [ -n "${PROFILED:-}" ]; then
    # Profiles made before (e.g. inputs/profiled/h200, carried): no profiling on this run.
    w="$PROFILED/$name.json"; wg="$PROFILED/${name}_gpucost.json"
    # inputs/profiled/ keeps its profiles xz-compressed; bench reads either.
    [ -e "$w" ] || w="$w.xz"; [ -e "$wg" ] || wg="$wg.xz"
    [ -e "$w" ] && [ -e "$wg" ] || { echo "no profile $w" | tee -a "$log"; continue; }
  else
    $B profile "$m" --batch 1 --image "${img/#0/224}" --seq 128 --layers 12 --granularity op --accs "$accs" --cpus 0 \
      --memory-fraction "$frac" --device "$dev" --link nvlink --out "$w" --gpu-cost-out "$wg" 2>&1 | tee -a "$log" || continue
  fi
  case " ${VALIDATE:-inception-v3 bert} " in *" $m "*) ;; *) continue ;; esac
  # Calibration (bench calibrate): the one-device placement graph-replayed in steady state and
  # one sample at a time anchor the GPU-time profile; everything below runs against it.
  if [ "${CALIBRATE:-yes}" = yes ]; then
    c="$out/calibration/$name"
    $B throughput "$wg" --algo one-device --quiet --out "$c/throughput" 2>&1 | tee -a "$log"
    $B latency "$wg" --algo one-device --quiet --out "$c/latency" 2>&1 | tee -a "$log"
    # The whole model on one GPU breaks a k-GPU profile's memory share, not the GPU's memory.
    $V "$wg" "$c"/throughput/placements/*.json --graphs --ignore-memory --samples "$samples" --repeats "$repeats" \
      --out "$c/throughput.json" 2>&1 | tee -a "$log"
    $V "$wg" "$c"/latency/placements/*.json --latency --graphs --samples "$samples" --repeats "$repeats" \
      --out "$c/latency.json" 2>&1 | tee -a "$log"
    # The same cut into a graph every 8 stages: what each later graph of a sample costs.
    cuts=()
    if [ "${CUTS:-yes}" = yes ]; then
      $V "$wg" "$c"/latency/placements/*.json --latency --graphs --cut-every 8 --samples "$samples" --repeats "$repeats" \
        --out "$c/latency_cut.json" 2>&1 | tee -a "$log" && cuts=(--cuts "$c/latency.json" --cuts "$c/latency_cut.json")
    fi
    # The same with a 1 µs side branch forked every 8 stages: what a GPU whose sample forks
    # into parallel streams loses of the calibration's gain.
    forked=()
    if [ "${FORKED:-yes}" = yes ]; then
      $V "$wg" "$c"/latency/placements/*.json --latency --graphs --side-branches 8 --samples "$samples" --repeats "$repeats" \
        --out "$c/latency_forked.json" 2>&1 | tee -a "$log" && forked=(--forked "$c/latency.json" --forked "$c/latency_forked.json")
    fi
    # The profile as measured stays beside the calibrated one (the calibration rows' workload).
    mkdir -p "$out/profiled/$dev/uncalibrated"
    cp "$wg" "$out/profiled/$dev/uncalibrated/${name}_gpucost.json" 2>/dev/null || true
    cal="$out/profiled/$dev/${name}_gpucost.json"
    $B calibrate "$wg" --measured "$c/throughput.json" --measured "$c/latency.json" "${cuts[@]}" "${forked[@]}" --out "$cal.new" 2>&1 | tee -a "$log" \
      && mv "$cal.new" "$cal" && wg="$cal"
  fi
  place=no
  case " ${PLACE:-inception-v3 bert} " in *" $m "*) place=yes ;; esac
  eager=$place
  [ "${EAGER_PLACE:-yes}" = yes ] || eager=no
  # Eager launches, one host thread per GPU.
  [ $place = yes ] && $B throughput "$w" --algo dp --algo ip-contig --algo scotch --algo pipedream --algo local-search --algo one-device \
    --time-limit 20 --quiet --out "$out/place/$name" 2>&1 | tee -a "$log"
  [ $eager = yes ] && $V "$w" "$out/place/$name"/placements/*.json --samples "$samples" --repeats "$repeats" \
    --out "$out/validate_throughput_$name.json" 2>&1 | tee -a "$log"
  [ $place = yes ] && $B latency "$w" --algo greedy --algo dp --algo one-device --time-limit 20 --quiet --out "$out/latency/$name" 2>&1 | tee -a "$log"
  [ $eager = yes ] && $V "$w" "$out/latency/$name"/placements/*.json --latency --samples "$samples" --repeats "$repeats" \
    --out "$out/validate_latency_$name.json" 2>&1 | tee -a "$log"
  algos="--algo sequential --algo ios --algo heft --algo hios-lp --algo hios-mr --algo hios-lp-intra"
  if [ "${EAGER_HIOS:-yes}" = yes ]; then
    $B hios "$w" $(hios_ks "$ks") $algos --quiet --out "$out/hios/$name" 2>&1 | tee -a "$log"
    $V "$w" $(schedules "$out/hios/$name") --samples "$samples" --repeats "$repeats" \
      --out "$out/validate_hios_$name.json" 2>&1 | tee -a "$log"
  fi
  # CUDA-graph replay against the GPU-only cost: schedules (segments between GPUs), pipelines.
  $B hios "$wg" $(hios_ks "${GRAPH_KS:-1}") $algos --quiet --out "$out/hios/${name}_gpucost" 2>&1 | tee -a "$log"
  stage_times=$( [ "${STAGE_TIMES:-yes}" = yes ] && echo --stage-times )
  $V "$wg" $(schedules "$out/hios/${name}_gpucost") --graphs $stage_times --samples "$samples" --repeats "$repeats" \
    --out "$out/validate_hios_graphs_$name.json" 2>&1 | tee -a "$log"
  [ $place = yes ] && $B throughput "$wg" --algo dp --algo ip-contig --algo scotch --algo pipedream --algo local-search --algo one-device \
    --time-limit 20 --quiet --out "$out/place/${name}_gpucost" 2>&1 | tee -a "$log"
  [ $place = yes ] && $V "$wg" "$out/place/${name}_gpucost"/placements/*.json --graphs --samples "$samples" --repeats "$repeats" \
    --out "$out/validate_throughput_graphs_$name.json" 2>&1 | tee -a "$log"
  [ $place = yes ] && $B latency "$wg" --algo greedy --algo dp --algo one-device --time-limit 20 --quiet \
    --out "$out/latency/${name}_gpucost" 2>&1 | tee -a "$log"
  [ $place = yes ] && $V "$wg" "$out/latency/${name}_gpucost"/placements/*.json --latency --graphs --samples "$samples" \
    --repeats "$repeats" --out "$out/validate_latency_graphs_$name.json" 2>&1 | tee -a "$log"
done
# The paper's workloads (placements made on the CPU machine into .gpu/p), as busy kernels.
if [ "$gpus" -ge 2 ] || [ -n "${PAPER:-}" ]; then
  for n in ${PAPER_NAMES:-bert_l-3_inference bert_l-6_inference bert_l-3_training bert_l-6_training bert24_inference gnmt_inference resnet50_inference}; do
    w=.gpu/w/$n.json
    p=(.gpu/p/"$n"/placements/*.json)
    [ -e "${p[0]}" ] || continue
    $V "$w" "${p[@]}" --busy --samples "${PAPER_SAMPLES:-20}" --repeats "${PAPER_REPEATS:-3}" \
      --out "$out/validate_paper_$n.json" 2>&1 | tee -a "$log"
  done
fi
# The device tool returns a limited number of files: everything travels in one archive.
tar -czf /tmp/gpu_run.tar.gz -C "$out" . && rm -rf "${out:?}"/* && mv /tmp/gpu_run.tar.gz "$out/"
