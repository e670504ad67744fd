#!/usr/bin/env bash
# The packing family on a lent GPU machine, with `.gpu/bench` and `.gpu/lib` carried (built by
# `strip -o .gpu/bench target-cuda/release/bench`): the six zoo models packed onto one virtual
# memory and every switching method measured over 30 and 300 seeded random requests, each
# method in a process of its own, its rows under NAME/METHOD, archived as $OUT/NAME.tar.xz
# after every method. Env: METHODS, REQUESTS (default "30 300"), NAME (default nwv), PAGE
# (page size, default 16384).
set -uo pipefail
source scripts/gpu_env.sh
name="${NAME:-nwv}"
out="${WORK:-/tmp}/$name"
rm -rf "$out"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpus.txt"
req=""
for r in ${REQUESTS:-30 300}; do req="$req --requests $r"; done
for m in ${METHODS:-gather reload-pinned reload-pageable reload-file lru-resident all-resident}; do
  run="$out/$m"
  timeout 240 .gpu/bench nwv zoo --gpu --switch "$m" $req --page-size "${PAGE:-16384}" --out "$run" --quiet > "$run.txt" 2>&1
  echo "$m: exit $?"; grep -v '^wrote' "$run.txt" | tail -4
  mkdir -p "${OUT:-results/gpu}"
  tar -cJf "${OUT:-results/gpu}/$name.tar.xz" -C "$(dirname "$out")" "$name"
done
