#!/usr/bin/env bash
# The sweep-on-Slurm test, on this machine alone: Debian's munge, slurmctld and slurmd
# (installed if absent), a one-node slurm.conf in a scratch folder, both daemons started, a
# 4-task array of a small sweep submitted with scripts/slurm/submit.sh and waited for, its
# merge compared with the same sweep run on one machine, the daemons stopped. Needs root.
# Env: BENCH (default target/release/bench), PLACEBENCH_PAPER_INPUTS (its layer graphs are
# the sweep; the embedded workloads where it is absent), SLURM_TEST_TIMEOUT (seconds, 600).
set -euo pipefail
[ -n "${SLURM_TEST_TRACE:-}" ] && set -x
root="$(cd "$(dirname "$0")/../.." && pwd)"
bench="$(realpath "${BENCH:-$root/target/release/bench}")"
limit="${SLURM_TEST_TIMEOUT:-600}"
work="$(mktemp -d /tmp/placebench-slurm.XXXXXX)"
chmod 755 "$work"
fail() { echo "slurm test: $*" >&2; for f in "$work"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -20 "$f" >&2; }; done; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq munge slurmctld slurmd slurm-client >/dev/null || fail "could not install munge and slurm"
fi
host="$(hostname -s)"
cpus="$(nproc)"
mem=$(( $(awk '/MemTotal/ { print $2 }' /proc/meminfo) / 1024 / 2 ))
mkdir -p "$work/state" "$work/spool" "$work/munge"
cat > "$work/slurm.conf" <<CONF
ClusterName=placebench
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/slurm.conf"
# munge: a key of our own, the daemon on a socket in the scratch folder.
key="$work/munge/munge.key"
dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
chown munge:munge "$work/munge" "$key" 2>/dev/null || true
chmod 700 "$work/munge"
chmod 400 "$key"
sock="$work/munge/munge.socket.2"
stop() {
  scontrol shutdown >/dev/null 2>&1 || true
  [ -f "$work/slurmd.pid" ] && kill "$(cat "$work/slurmd.pid")" 2>/dev/null || true
  [ -f "$work/slurmctld.pid" ] && kill "$(cat "$work/slurmctld.pid")" 2>/dev/null || true
  [ -f "$work/munge/munged.pid" ] && kill "$(cat "$work/munge/munged.pid")" 2>/dev/null || true
}
trap stop EXIT
munged --force --key-file="$key" --socket="$sock" --pid-file="$work/munge/munged.pid" \
  --log-file="$work/munged.log" --seed-file="$work/munge/seed" || fail "munged did not start"
# Slurm's clients and daemons find munge's socket through the plugin's default path: point
# it at ours for this run.
mkdir -p /run/munge
ln -sfn "$sock" /run/munge/munge.socket.2
munge -n -S "$sock" | unmunge -S "$sock" >/dev/null || fail "munge does not round-trip a credential"
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start"
for _ in $(seq 60); do
  sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break
  sleep 1
done
sinfo -h -o '%T' | grep -qE '^(idle|mixed|allocated)' || fail "the node did not come up: $(sinfo 2>&1 | tr '\n' ' ')"
paper="${PLACEBENCH_PAPER_INPUTS:-$root/../shared/dnn-partitioning}/throughput-inputs/LayerGraphs"
if [ -d "$paper" ]; then
  sweep=(throughput --inputs "$paper" --no-embedded --algo dp --algo pipedream --algo one-device --algo expert --time-limit 30)
else
  echo "slurm test: $paper is absent: the sweep is the embedded workloads"
  sweep=(throughput --algo dp --algo pipedream --algo one-device --algo expert --time-limit 30)
fi
"$bench" "${sweep[@]}" --out "$work/whole" --quiet > "$work/whole.txt" 2>&1 || fail "the one-machine run failed"
BENCH="$bench" WAIT=1 timeout "$limit" "$root/scripts/slurm/submit.sh" 4 "$work/array" "${sweep[@]}" \
  || fail "the array or its merge did not finish within ${limit} s"
for i in 0 1 2 3; do [ -f "$work/array/shard-$i/results.csv" ] || fail "shard $i wrote no results"; done
"$bench" compare "$work/whole" "$work/array/merged" --strict > "$work/compare.txt" 2>&1 \
  || { cat "$work/compare.txt" >&2; fail "the merged result differs from the one-machine run"; }
rows=$(($(wc -l < "$work/array/merged/results.csv") - 1))
echo "slurm test: 4 array tasks merged into $rows rows, equal to the one-machine run"
# Pre-emption: the array cancelled once some shard has finished a cell, then resubmitted into
# the same folder; the resumed tasks keep what they finished and the merge is the same.
mkdir -p "$work/killed"
job=$(BENCH="$bench" sbatch --parsable --array=0-3 --output="$work/killed/slurm-%A_%a.out" \
  "$root/scripts/slurm/sweep.sbatch" "$work/killed" "${sweep[@]}")
for _ in $(seq 240); do
  compgen -G "$work/killed/shard-*/.journal.jsonl" >/dev/null && [ -n "$(cat "$work"/killed/shard-*/.journal.jsonl 2>/dev/null)" ] && break
  sleep 0.5
done
scancel "$job"
for _ in $(seq 60); do [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break; sleep 1; done
kept=$( (cat "$work"/killed/shard-*/.journal.jsonl 2>/dev/null || true) | wc -l)
[ "$kept" -gt 0 ] || fail "no cell finished within 120 s of the array's start: nothing to resume"
[ -z "$(squeue -h -j "$job" 2>/dev/null)" ] || fail "the cancelled array did not leave the queue"
BENCH="$bench" WAIT=1 timeout "$limit" "$root/scripts/slurm/submit.sh" 4 "$work/killed" "${sweep[@]}" \
  || fail "the resubmitted array or its merge did not finish within ${limit} s"
"$bench" compare "$work/whole" "$work/killed/merged" --strict > "$work/compare-killed.txt" 2>&1 \
  || { cat "$work/compare-killed.txt" >&2; fail "the resumed array's merge differs from the one-machine run"; }
echo "slurm test: a cancelled array ($kept cells finished before it was cancelled) resubmitted and merged equal to the one-machine run"
