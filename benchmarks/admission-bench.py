#!/usr/bin/env python3
"""Admission under abuse (release daemon): a legitimate client's ping p99 with no attacker and
while one address holds its cap of half-open connections and reconnects as fast as it can;
the daemon's peak RSS while 500 unauthenticated connections each push an unfinished 1 MB frame.

  benchmarks/admission-bench.py [--seconds 10] [--binary PATH]

The legitimate client is benchmarks/bin/loadgen (1 connection, lockstep ping, from 127.0.0.1);
the attacker runs from 127.0.0.2 (and 127.0.0.10-18 for the 500 frames: 60 per address, under the cap of 64).
"""
import argparse
import json
import multiprocessing
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "integration"))
import conftest  # noqa: E402
from conftest import DEFAULT_PLUGINS, Daemon, make_token  # noqa: E402


def attacker(port, stop_at, counts):
    """Keeps 64 half-open heads from 127.0.0.2 and opens more as fast as it can."""
    held = []
    made = 0
    while time.time() < stop_at:
        try:
            s = socket.socket()
            s.setblocking(True)
            s.settimeout(1)
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            made += 1
            if len(held) < 64:
                held.append(s)
            else:
                s.close()
        except OSError:
            time.sleep(0.001)
    counts.value = made
    for s in held:
        s.close()


def ping_p99(port, seconds, token):
    out = subprocess.run([str(REPO / "benchmarks/bin/loadgen"), "--url", f"ws://127.0.0.1:{port}/ws", "--conns", "1", "--inflight", "1",
                          "--duration", f"{seconds}s", "--token", token, "--json"], capture_output=True, text=True, timeout=seconds + 60)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r


def vm_hwm(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


def big_frames(port, n=500):
    socks = []
    for i in range(n):
        s = socket.socket()
        s.settimeout(5)
        s.bind((f"127.0.0.{10 + i // 60}", 0))
        s.connect(("127.0.0.1", port))
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        s.sendall(f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        s.recv(4096)
        try:
            s.sendall(struct.pack("!BBQ", 0x81, 0x80 | 127, 1 << 20) + b"\0\0\0\0" + b"x" * 900_000)
        except OSError:
            pass  # closed on us at the header: what we want
        socks.append(s)
    return socks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--binary", default=str(REPO / ".build/release/camera-service"))
    a = ap.parse_args()
    subprocess.run([str(REPO / "benchmarks/loadgen/build.sh")], check=True, capture_output=True)
    conftest.BIN = Path(a.binary)
    tmp = Path(tempfile.mkdtemp())
    d = Daemon(tmp, plugins=[DEFAULT_PLUGINS[0]], config={"logging": {"level": "warning"}, "server": {"max_connections": 2000, "request_timeout": 60},
                                                          "security": {"rate_limit": {"requests_per_second": 1e6, "burst": 1e6}}}).start()
    token = make_token("viewer")
    try:
        quiet = ping_p99(d.port, a.seconds, token)
        counts = multiprocessing.Value("i", 0)
        stop_at = time.time() + a.seconds + 3
        p = multiprocessing.Process(target=attacker, args=(d.port, stop_at, counts))
        p.start()
        time.sleep(2)
        busy = ping_p99(d.port, a.seconds, token)
        p.join()
        print("\nping from 127.0.0.1 (loadgen, 1 connection, lockstep), %d s each\n" % a.seconds)
        print("| condition | requests/s | p50 µs | p99 µs | p99.9 µs | errors |\n|---|---|---|---|---|---|")
        for label, r in (("no attacker", quiet), (f"127.0.0.2 holds 64 half-open heads, reconnecting ({counts.value / (a.seconds + 1):.0f} connections/s)", busy)):
            print(f"| {label} | {r['rps']:,.0f} | {r['latency_us']['p50']:.0f} | {r['latency_us']['p99']:.0f} | {r['latency_us']['p999']:.0f} | {r.get('errors', 0)} |")
        before = vm_hwm(d.proc.pid)
        socks = big_frames(d.port)
        time.sleep(1)
        after = vm_hwm(d.proc.pid)
        print(f"\n500 unauthenticated connections each pushing an unfinished 1 MB frame: daemon peak RSS {before:.1f} MB before, {after:.1f} MB after")
        for s in socks:
            s.close()
    finally:
        d.stop()


if __name__ == "__main__":
    main()
