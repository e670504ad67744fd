#!/usr/bin/env bash
# Builds `bench` with SanitizerCoverage edge guards, overflow checks and debug assertions
# (stable rustc flags; build scripts and proc macros stay plain because a --target is given)
# into target-fuzz/, then runs `bench fuzz` with it. Extra arguments go to `bench fuzz`,
# e.g. `scripts/fuzz.sh --inputs 100000 --target split`.
set -euo pipefail
cd "$(dirname "$0")/.."
triple=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS="-C passes=sancov-module -C llvm-args=-sanitizer-coverage-level=3 \
-C llvm-args=-sanitizer-coverage-trace-pc-guard -C overflow-checks=on -C debug-assertions=on" \
  cargo build --release --target "$triple" --target-dir target-fuzz --bin bench
exec "target-fuzz/$triple/release/bench" fuzz --workload-seeds tests/fixtures/malformed "$@"
