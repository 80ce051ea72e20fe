#!/usr/bin/env bash
# Runs every figure of docs/performance.md three times and prints one JSON line per run
# (the load tool's --json output, prefixed with the configuration). Take the best of three:
#   load/run-figures.sh | tee figures.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build -c Release load/Siov.Fast.Load >/dev/null
L=load/Siov.Fast.Load/bin/Release/net10.0/siov-load
run() { for rep in 1 2 3; do printf '%s\t' "$*"; "$L" --json "$@" 2>/dev/null; done; }
run --workload hot4k  --threads 1 --requests 50000000
run --workload hot4k  --threads 2 --requests 50000000
run --workload hot4k  --threads 1 --requests 50000000 --churn 100000
run --workload hot4k  --threads 1 --requests 20000000 --batch 1
run --workload huge2m --threads 1 --requests 50000000
run --workload huge2m --threads 2 --requests 50000000
run --workload siov64 --threads 1 --requests 50000000
run --workload siov64 --threads 2 --requests 50000000
run --workload siov64 --threads 1 --requests 20000000 --iotlb 65536
run --workload cold4k --threads 1 --requests 20000000
run --workload cold4k --threads 2 --requests 20000000
run --workload cold4k --threads 1 --requests 20000000 --iotlb 65536
for w in hot4k huge2m siov64 cold4k; do run --workload $w --threads 1 --requests 50000000 --mode bare; done
