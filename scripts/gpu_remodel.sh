#!/usr/bin/env bash
# Recomputes every prediction of GPU runs with the current models, measurements untouched:
# `bench validate --measured` for each validate_*.json, from the profiled workload the run
# measured (the run's own profiled/ folder where it keeps one, else inputs/profiled/; the
# paper's workload under $PLACEBENCH_PAPER_INPUTS) and the placements and schedules the run kept.
# Given run folders, it rewrites their rows in place. Without arguments it unpacks every
# archived run (results/gpu/*.tar.xz) into target/gpu-runs/, remodels it there and reports
# whether each run's predictions are what the archive holds (the remodelling date aside);
# exit 1 if any differ.
# Needs no GPU. Usage: bash scripts/gpu_remodel.sh [RUN_FOLDER...]
set -euo pipefail
B=${BENCH:-target/release/bench}
[ -x "$B" ] || cargo build --release
paper="${PLACEBENCH_PAPER_INPUTS:-../shared/dnn-partitioning}"
if [ $# -eq 0 ]; then
  scratch=target/gpu-runs/remodel; rm -rf "$scratch"; mkdir -p "$scratch/runs" "$scratch/archived"
  for a in results/gpu/*.tar.xz; do tar -xJf "$a" -C "$scratch/runs"; tar -xJf "$a" -C "$scratch/archived"; done
  bash "$0" "$scratch"/runs/*/
  status=0
  for d in "$scratch"/archived/*/; do
    d=${d%/}; run="$scratch/runs/$(basename "$d")"; n=0
    for f in "$d"/validate_*.json; do
      [ -e "$f" ] || continue
      cmp -s <(grep -v remodelled_utc "$f") <(grep -v remodelled_utc "$run/$(basename "$f")") || { n=$((n+1)); status=1; }
    done
    echo "$(basename "$run"): $([ $n -eq 0 ] && echo same predictions || echo "$n file(s) changed")"
  done
  exit $status
fi
for run in "$@"; do
  [ -d "$run" ] || continue
  dev=$(grep -qs H100 "$run/gpus.txt" && echo h100 || echo h200)
  run=${run%/}
  for f in "$run"/validate_*.json; do
    base=$(basename "$f" .json)
    case $base in
      validate_throughput_graphs_*) name=${base#validate_throughput_graphs_}; w=${name}_gpucost; plans=("$run/place/${name}_gpucost/placements/"*.json); flags=(--graphs) ;;
      validate_hios_graphs_*) name=${base#validate_hios_graphs_}; w=${name}_gpucost; plans=(); for s in "$run/hios/${name}_gpucost/schedules/"*.json; do plans+=(--schedule "$s"); done; flags=(--graphs) ;;
      validate_latency_graphs_*) name=${base#validate_latency_graphs_}; w=${name}_gpucost; plans=("$run/latency/${name}_gpucost/placements/"*.json); flags=(--latency --graphs) ;;
      validate_throughput_*) name=${base#validate_throughput_}; w=$name; plans=("$run/place/$name/placements/"*.json); flags=() ;;
      validate_latency_*) name=${base#validate_latency_}; w=$name; plans=("$run/latency/$name/placements/"*.json); flags=(--latency) ;;
      validate_hios_*) name=${base#validate_hios_}; w=$name; plans=(); for s in "$run/hios/$name/schedules/"*.json; do plans+=(--schedule "$s"); done; flags=() ;;
      validate_paper_*) name=${base#validate_paper_}; plans=("$run/place/$name/placements/"*.json); flags=(--busy)
        [ -e "${plans[0]}" ] || continue ;;
      *) continue ;;
    esac
    case $base in
      validate_paper_*) wf=$(ls "$paper"/throughput-inputs/*/"$name.json" | head -1) ;;
      *) wf="inputs/profiled/$dev/$w.json.xz"; [ -e "$run/profiled/$dev/$w.json" ] && wf="$run/profiled/$dev/$w.json" ;;
    esac
    # A run whose workload file is not byte-for-byte the one measured is left as it is.
    if "$B" validate "$wf" "${plans[@]}" "${flags[@]}" --measured "$f" --out "$f.new" 2>"$f.err"; then
      mv "$f.new" "$f"
    else
      echo "left as measured: $f ($(head -1 "$f.err"))" >&2
      failed=1
    fi
    rm -f "$f.new" "$f.err"
  done
done
exit "${failed:-0}"
