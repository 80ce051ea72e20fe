#!/usr/bin/env python3
"""Figures for docs/admin-api.md, "Durability": the latency of a map call with the journal on and off, and the
restore time of a large state. Starts the Release server (dotnet build -c Release api/Siov.Fast.Api first).

    load/durability-figures.py [--calls 2000] [--restore-mappings 100000]
"""
import argparse, http.client, json, os, re, shutil, signal, subprocess, sys, tempfile, time

DLL = os.path.join(os.path.dirname(__file__), "..", "api", "Siov.Fast.Api", "bin", "Release", "net10.0", "Siov.Fast.Api.dll")

def start(args):
    proc = subprocess.Popen(["dotnet", DLL, "--urls", "http://127.0.0.1:0"] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        m = re.search(r"siov admin server: platform \S+ on (http://[^,;\s]+).*state (.*)$", line)
        if m:
            host, port = m.group(1)[len("http://"):].split(":")
            return proc, http.client.HTTPConnection(host, int(port)), m.group(2)
    raise SystemExit("the server did not start")

def call(conn, method, path, body=None):
    conn.request(method, path, body=None if body is None else json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    if response.status >= 400:
        raise SystemExit(f"{method} {path}: {response.status} {data[:200]}")
    return json.loads(data) if data else None

def latencies(conn, calls):
    domain = call(conn, "POST", "/domains", {"type": "UNMANAGED"})["id"]
    samples = []
    for i in range(calls):
        body = {"iova": hex(0x1000_0000 + i * 0x1000), "hpa": hex(0x4000_0000 + i * 0x1000), "size": "0x1000"}
        t = time.perf_counter()
        call(conn, "POST", f"/domains/{domain}/mappings", body)
        samples.append((time.perf_counter() - t) * 1e3)
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--restore-mappings", type=int, default=100000)
    parser.add_argument("--restore-singles", type=int, default=10000, help="of the mappings, how many come as single map calls")
    a = parser.parse_args()
    state = tempfile.mkdtemp(prefix="siov-figures-")
    try:
        for name, args in (("journal on", ["--state-dir", state]), ("journal off (--ephemeral)", ["--ephemeral"])):
            proc, conn, _ = start(args)
            p50, p99 = latencies(conn, a.calls)
            print(f"map call, {name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {a.calls} calls")
            proc.kill(); proc.wait()
        shutil.rmtree(state); os.makedirs(state)
        proc, conn, _ = start(["--state-dir", state])
        domain = call(conn, "POST", "/domains", {"type": "UNMANAGED"})["id"]
        singles = min(a.restore_singles, a.restore_mappings)
        for i in range(singles):
            call(conn, "POST", f"/domains/{domain}/mappings", {"iova": hex(i * 0x1000), "hpa": hex(0x4000_0000 + i * 0x1000), "size": "0x1000"})
        done = singles
        while done < a.restore_mappings:
            n = min(65536, a.restore_mappings - done)
            batch = [{"iova": hex((done + i) * 0x1000), "hpa": hex(0x4000_0000 + (done + i) * 0x1000), "size": "0x1000"} for i in range(n)]
            call(conn, "POST", f"/domains/{domain}/mappings/batch", {"mappings": batch})
            done += n
        proc.send_signal(signal.SIGKILL); proc.wait()
        t = time.perf_counter()
        proc, conn, described = start(["--state-dir", state])
        listening = time.perf_counter() - t
        mapped = int(call(conn, "GET", f"/domains/{domain}")["mapped_bytes"], 16) // 0x1000
        print(f"restore after kill -9: {mapped} mappings ({singles} single calls + batches); start-up line: state {described.strip()}; process start to listening {listening:.2f} s")
        proc.kill(); proc.wait()
    finally:
        shutil.rmtree(state, ignore_errors=True)

main()
