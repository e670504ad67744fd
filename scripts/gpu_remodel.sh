#!/usr/bin/env bash
# Recomputes every prediction of the committed GPU runs (results/gpu/*/) with the current
# models, measurements untouched: `bench validate --measured` for each validate_*.json, from
# the profiled workload the run measured (the run's own profiled/ folder where it keeps one,
# else inputs/profiled/; the paper's workload under $PLACEBENCH_PAPER_INPUTS) and the
# placements and schedules the run kept.
# Needs no GPU. Usage: bash scripts/gpu_remodel.sh [RUN_FOLDER...]
set -euo pipefail
B=${BENCH:-target/release/bench}
[ -x "$B" ] || cargo build --release
paper="${PLACEBENCH_PAPER_INPUTS:-../shared/dnn-partitioning}"
[ $# -gt 0 ] || set -- results/gpu/*/
for run in "$@"; do
  [ -d "$run" ] || continue
  dev=$(grep -q H100 "$run/gpus.txt" && echo h100 || echo h200)
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
      *) wf="inputs/profiled/$dev/$w.json"; [ -e "$run/profiled/$dev/$w.json" ] && wf="$run/profiled/$dev/$w.json" ;;
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
