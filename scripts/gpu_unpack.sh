#!/usr/bin/env bash
# Unpacks archived GPU runs (results/gpu/RUN.tar.xz) into results/gpu/RUN/ (ignored by git),
# for the scripts that read a run's files (traces, cuts, side branches, reruns).
# Usage: bash scripts/gpu_unpack.sh [RUN...]   (default: every run)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- $(ls results/gpu/*.tar.xz | xargs -n1 basename | sed 's/\.tar\.xz$//')
for run in "$@"; do
  run=$(basename "${run%.tar.xz}")
  [ -d "results/gpu/$run" ] && { echo "results/gpu/$run/ already unpacked"; continue; }
  tar -xJf "results/gpu/$run.tar.xz" -C results/gpu && echo "results/gpu/$run/"
done
