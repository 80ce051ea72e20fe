#!/bin/bash
# Compares two builds of siov-load on the standard workloads, alternating them run by run so that both see the same
# minutes of a shared machine, and prints M translations/s and the checksum of each run. The bare loop runs last.
#   load/compare-builds.sh BEFORE/siov-load AFTER/siov-load [RUNS]
# SIOV_LOAD_ARGS adds arguments to every run (SIOV_LOAD_ARGS="--iommu smmuv3" compares the SMMUv3 paths).
# Build a tree of the earlier commit with: git worktree add /tmp/before REV && dotnet build -c Release /tmp/before/load/Siov.Fast.Load
set -euo pipefail
before=$1; after=$2; runs=${3:-3}; extra=${SIOV_LOAD_ARGS:-}
for args in "--workload hot4k" "--workload huge2m" "--workload siov64" "--workload cold4k" "--workload hot4k --batch 1" "--workload hot4k --mode bare"; do
  for ((r = 1; r <= runs; r++)); do
    for which in before after; do
      bin=$before; [ "$which" = after ] && bin=$after
      # shellcheck disable=SC2086 # the arguments are meant to split
      "$bin" --json --threads 1 --requests 20000000 $args $extra 2>/dev/null |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(sys.argv[1], "|", sys.argv[2], "|", round(d["translations_per_sec"]/1e6,1), d["checksum"])' "$args" "$which"
    done
  done
done
