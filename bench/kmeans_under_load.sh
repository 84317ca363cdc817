#!/usr/bin/env bash
# k-means beside a competing process: the same warm fit (bench/kmeans_warm_fit,
# 200,000 x 64, k = 100, 20 iterations, bench/kmeans_vs_sklearn.py's data)
# on one thread and on two, alternating, while one busy process runs
# beside it. On a two-core machine a two-thread fit should then be no
# slower than a one-thread fit: the backend's threads must not wait for a
# helper the scheduler has paused (core/work_team.hpp).
#
#   bench/kmeans_under_load.sh [WARM_FIT_BINARY ...]   (default build/bench/kmeans_warm_fit)
#
# Several binaries are measured in turn, in the same minutes. Prints each
# binary's median and minimum seconds per thread count.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-7}
data=bench/out/blobs_200000x64_k100_seed0_X.npy
init=bench/out/blobs_200000x64_k100_seed0_C0.npy
if [ ! -f "$data" ]; then
  echo "kmeans_under_load: $data missing: run bench/kmeans_vs_sklearn.py once first" >&2
  exit 1
fi
[ $# -gt 0 ] || set -- build/bench/kmeans_warm_fit

# The competitor: one core's worth of busy work, stopped on exit.
sha256sum /dev/zero >/dev/null &
busy=$!
trap 'kill "$busy" 2>/dev/null || true' EXIT
sleep 1

results=$(mktemp)
for _ in $(seq "$runs"); do
  for binary in "$@"; do
    for threads in 1 2; do
      seconds=$(OMP_NUM_THREADS=$threads "$binary" "$data" "$init" 20 cpu |
                python3 -c 'import json, sys; print(json.load(sys.stdin)["seconds"])')
      echo "$binary $threads $seconds" >>"$results"
    done
  done
done
python3 - "$results" <<'PY'
import collections, statistics, sys
times = collections.defaultdict(list)
for line in open(sys.argv[1]):
    binary, threads, seconds = line.split()
    times[(binary, int(threads))].append(float(seconds))
for (binary, threads), t in sorted(times.items()):
    print(f"{binary}  {threads} thread{'s' if threads > 1 else ' '}: median {statistics.median(t):.3f} s, "
          f"min {min(t):.3f} s, max {max(t):.3f} s ({len(t)} fits)")
PY
rm -f "$results"
