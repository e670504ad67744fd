#!/usr/bin/env bash
# Installs the system packages placebench builds against (Debian/Ubuntu, as root):
# cmake and libclang for HiGHS (compiled from source by highs-sys) and bindgen,
# libscotch-dev for the Scotch baseline. With --slurm also munge, slurmctld, slurmd and
# Slurm's clients, for scripts/slurm/test.sh.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends cmake libclang-dev libscotch-dev pkg-config g++ >/dev/null
if [ "${1:-}" = "--slurm" ]; then
  $SUDO apt-get install -y -qq munge slurmctld slurmd slurm-client >/dev/null
fi
