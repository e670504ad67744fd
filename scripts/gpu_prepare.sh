#!/usr/bin/env bash
# Prepares `.gpu/` on the CPU machine for scripts/gpu_run.sh: the bench binary built with
# `--features cuda` (x86-64, stripped), the shared libraries the lent machine lacks (libscotch
# and what it links), and the paper's inference workloads with placements made here.
set -euo pipefail
paper="${PLACEBENCH_PAPER_INPUTS:-../shared/dnn-partitioning}"
cargo build --release --features cuda --target-dir target-cuda
mkdir -p .gpu/lib .gpu/w .gpu/p
strip -o .gpu/bench target-cuda/release/bench
for lib in $(ldd .gpu/bench | awk '/scotch|libz|bz2|lzma/ { print $3 }'); do cp -L "$lib" .gpu/lib/; done
for n in bert24_inference gnmt_inference resnet50_inference; do
  cp "$paper/throughput-inputs/LayerGraphs/$n.json" .gpu/w/
done
# k = 3: one GPU per stage (and one for the CPU stage) on a 4-GPU machine.
for n in bert_l-3_inference bert_l-6_inference bert_l-3_training bert_l-6_training; do
  cp "$paper/throughput-inputs/OperatorGraphs/$n.json" .gpu/w/
done
for w in .gpu/w/*.json; do
  n=$(basename "$w" .json)
  [ -d ".gpu/p/$n/placements" ] || target-cuda/release/bench throughput "$w" --algo dp --algo ip-contig \
    --algo pipedream --algo one-device --algo expert --time-limit 60 --quiet --out ".gpu/p/$n"
done
# The same packed (about 4 MB against 13): carry `.gpu/pack` alone when the working tree and
# `.gpu` together pass the device tool's 64 MiB; scripts/gpu_env.sh unpacks it there.
mkdir -p .gpu/pack
tar -cJf .gpu/pack/gpu.tar.xz -C .gpu bench lib w p
