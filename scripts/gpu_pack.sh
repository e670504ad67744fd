#!/usr/bin/env bash
# Packs a GPU run folder into results/gpu/RUN.tar.xz (links to profiles followed, so that the
# archive holds every file the run measured with), byte-reproducibly, and removes the folder.
# Add its row to results/gpu/index.csv. Usage: bash scripts/gpu_pack.sh results/gpu/RUN...
set -euo pipefail
for dir in "$@"; do
  dir=${dir%/}; run=$(basename "$dir"); parent=$(dirname "$dir")
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2026-12-03 00:00Z' -C "$parent" -hcf - "$run" \
    | xz -9e -T1 > "$parent/$run.tar.xz.tmp"
  mv "$parent/$run.tar.xz.tmp" "$parent/$run.tar.xz"
  rm -rf "$dir"
  echo "$parent/$run.tar.xz"
done
