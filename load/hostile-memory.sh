#!/usr/bin/env bash
# Memory under hostile batches: starts the admin server (Release) on loopback, sends N parallel maximal
# batch requests (65,536 records each) to /translate/batch (JSON and binary) and /domains/{id}/mappings/batch,
# several rounds, and prints the server's peak RSS (VmHWM) and its RSS after the load. Bounded: every
# request has a timeout and the script stops the server at the end.
#   load/hostile-memory.sh [parallel=32] [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-32}
ROUNDS=${2:-3}
PORT=${PORT:-5199}
S=http://127.0.0.1:$PORT
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
dotnet build -c Release api/Siov.Fast.Api >/dev/null
dotnet api/Siov.Fast.Api/bin/Release/net10.0/Siov.Fast.Api.dll --urls "$S" --ephemeral >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "$S/healthz" >/dev/null && break; sleep 0.2; done

# Maximal bodies: 65,536 JSON translation requests (with padding up to just under the 8 MiB limit),
# 65,536 binary records (1 MiB), and 65,536 4 KiB mappings.
awk 'BEGIN { printf "{\"requests\":["; for (i = 0; i < 65536; i++) printf "%s{\"device\":\"0000:02:00.0\",\"pasid\":null,\"iova\":\"0x%x\",\"access\":\"write\"}", (i ? "," : ""), i * 4096; printf "]}" }' >"$work/translate.json"
perl -e 'print pack("Q<L<S<CC", $_ * 4096, 0, 0x0200, 1, 0) for 0 .. 65535' >"$work/records.bin"   # 02:00.0, read, no PASID
awk 'BEGIN { printf "{\"mappings\":["; for (i = 0; i < 65536; i++) printf "%s{\"iova\":\"0x%x\",\"hpa\":\"0x%x\",\"size\":\"0x1000\",\"prot\":\"rw\"}", (i ? "," : ""), i * 8192, i * 4096; printf "]}" }' >"$work/map.json"
domain=$(curl -s -XPOST "$S/domains" -H 'content-type: application/json' -d '{"type":"unmanaged"}' | sed 's/.*"id":\([0-9]*\).*/\1/')
rss() { awk '/^VmRSS/ { print $2 / 1024 }' /proc/$pid/status; }
echo "server pid $pid; bodies: translate.json $(stat -c %s "$work/translate.json") B, records.bin $(stat -c %s "$work/records.bin") B, map.json $(stat -c %s "$work/map.json") B"
echo "RSS before: $(rss) MiB"
for round in $(seq "$ROUNDS"); do
  for i in $(seq "$N"); do
    case $((i % 3)) in
      0) curl -s -m 120 -o /dev/null -w '%{http_code} ' -XPOST "$S/translate/batch" -H 'content-type: application/json' --data-binary "@$work/translate.json" & ;;
      1) curl -s -m 120 -o /dev/null -w '%{http_code} ' -XPOST "$S/translate/batch" -H 'content-type: application/octet-stream' --data-binary "@$work/records.bin" & ;;
      2) curl -s -m 120 -o /dev/null -w '%{http_code} ' -XPOST "$S/domains/$domain/mappings/batch" -H 'content-type: application/json' --data-binary "@$work/map.json" & ;;
    esac
  done
  wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
  echo
  echo "round $round: RSS $(rss) MiB, peak $(awk '/^VmHWM/ { print $2 / 1024 }' /proc/$pid/status) MiB"
done
echo "after the load: RSS $(rss) MiB; peak (VmHWM) $(awk '/^VmHWM/ { print $2 / 1024 }' /proc/$pid/status) MiB"
