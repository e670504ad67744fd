#!/usr/bin/env bash
# Submits a sweep as an array of N shards and a merge that runs once all of them have ended:
#   scripts/slurm/submit.sh N OUT BENCH_ARGS...
# Env: BENCH (the binary, default `bench`), SBATCH_ARGS (extra sbatch options: partition,
# time limit, account). Prints the two job ids. With WAIT=1 it waits for the merge.
set -euo pipefail
n="$1"
out="$2"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
array=$(sbatch --parsable ${SBATCH_ARGS:-} --array=0-$((n - 1)) --output="$out/slurm-%A_%a.out" \
  "$here/sweep.sbatch" "$out" "$@")
dirs=""
for i in $(seq 0 $((n - 1))); do dirs="$dirs $out/shard-$i"; done
wait_flag=""
[ "${WAIT:-0}" = 1 ] && wait_flag="--wait"
merge=$(sbatch --parsable ${SBATCH_ARGS:-} $wait_flag --dependency=afterany:"$array" --output="$out/slurm-merge-%j.out" \
  --wrap="${BENCH:-bench} merge $dirs --out $out/merged")
echo "array $array, merge $merge"
