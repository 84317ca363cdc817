#!/usr/bin/env bash
# The fleet pipeline at scale: `stray demo` generates a synthetic fleet in
# memory and runs every step (events -> features -> PCA -> k-means ->
# scores -> outlier rules -> explanations); this prints the time of each
# step, the peak memory (/usr/bin/time -v) and the recall line.
#
#   bench/fleet_pipeline.sh [ENTITIES...]      default: 1000000
#
# Environment: STRAY (the binary; default build/examples/stray),
# STRAY_BACKEND (default cpu), STRAY_SEED (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
stray=${STRAY:-build/examples/stray}
backend=${STRAY_BACKEND:-cpu}
seed=${STRAY_SEED:-1}
[[ -x $stray ]] || { echo "fleet_pipeline.sh: $stray not found (run scripts/build, or set STRAY)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "fleet_pipeline.sh: /usr/bin/time is needed (Debian package 'time')" >&2; exit 1; }
(( $# > 0 )) || set -- 1000000

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: $stray demo --entities N --seed $seed --backend $backend --show 1"
for n in "$@"; do
  out=$(mktemp) err=$(mktemp)
  /usr/bin/time -v "$stray" demo --entities "$n" --seed "$seed" --backend "$backend" --show 1 >"$out" 2>"$err"
  steps=$(grep '^time:' "$out" | sed 's/^time: //')
  recall=$(grep '^recall:' "$out" | sed 's/^recall: //')
  pipeline=$(grep '^pipeline:' "$out" | sed 's/^pipeline: //')
  peak_kb=$(grep 'Maximum resident set size' "$err" | awk '{print $NF}')
  wall=$(grep 'Elapsed (wall clock)' "$err" | awk '{print $NF}')
  printf '\nentities %s\n  pipeline: %s\n  steps:    %s\n  wall %s, peak memory %.2f GB\n  recall:   %s\n' \
    "$n" "$pipeline" "$steps" "$wall" "$(echo "$peak_kb / 1048576" | bc -l)" "$recall"
  rm -f "$out" "$err"
done
