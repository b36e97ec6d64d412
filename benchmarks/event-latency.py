#!/usr/bin/env python3
"""Event fan-out latency: how long an event takes to reach N subscribed WebSocket clients.

Starts the release daemon with the test event plugin (Tests/Fixtures), opens N subscriber
connections spread over worker processes, then publishes events one at a time (each carrying
its send time) and records, for every subscriber, receive time - send time. Prints p50/p99/max
and the server's RSS. The clients' own processing is included in the figures (Python), so the
numbers are an upper bound for the server.

  benchmarks/event-latency.py [--subscribers 1000] [--events 100] [--workers 4]
"""
import argparse
import asyncio
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "integration"))
from conftest import DEFAULT_PLUGINS, Daemon, make_token  # noqa: E402

import websockets  # noqa: E402


def worker(url, count, events, ready, go, results):
    async def run():
        token = make_token("viewer")
        conns = []
        for _ in range(count):
            ws = await websockets.connect(url, max_size=None, ping_interval=None)
            await ws.send(json.dumps({"jsonrpc": "2.0", "method": "subscribe_events", "id": 1,
                                      "params": {"topics": ["snapshot.taken"], "auth_token": token}}))
            assert "result" in json.loads(await ws.recv())
            conns.append(ws)
        ready.put(count)
        latencies = []

        async def listen(ws):
            for _ in range(events):
                m = json.loads(await ws.recv())
                latencies.append(time.time() - m["params"]["t"])
        await asyncio.gather(*(listen(ws) for ws in conns))
        results.put(latencies)
        for ws in conns:
            await ws.close()
    asyncio.run(run())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--events", type=int, default=100)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--interval", type=float, default=0.05, help="seconds between events")
    a = ap.parse_args()
    build = REPO / ".build" / "release"
    subprocess.run(["swift", "build", "-c", "release"], cwd=REPO, check=True, capture_output=True)
    os.environ["CAMERA_SERVICE_BIN"] = str(build / "camera-service")
    fixtures = Path(tempfile.mkdtemp())
    subprocess.run([str(REPO / "Tests/Fixtures/build.sh"), str(build), str(fixtures)], check=True, capture_output=True)
    tmp = Path(tempfile.mkdtemp())
    import conftest
    conftest.BIN = build / "camera-service"
    d = Daemon(tmp, plugins=DEFAULT_PLUGINS + [{"name": "fixture_events", "library": str(fixtures / "libFixtureEventSource.so")}],
               config={"logging": {"level": "warning"}, "server": {"max_connections": a.subscribers + 100}})
    d.start()
    try:
        ready, results = mp.Queue(), mp.Queue()
        per = [a.subscribers // a.workers + (1 if i < a.subscribers % a.workers else 0) for i in range(a.workers)]
        procs = [mp.Process(target=worker, args=(d.url, n, a.events, ready, None, results)) for n in per]
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=120)

        async def emit():
            async with websockets.connect(d.url) as ws:
                await ws.send(json.dumps({"jsonrpc": "2.0", "method": "authenticate", "id": 0, "params": {"auth_token": make_token("admin")}}))
                await ws.recv()
                for i in range(a.events):
                    await ws.send(json.dumps({"jsonrpc": "2.0", "method": "fixture.emit", "id": i + 1,
                                              "params": {"topic": "snapshot.taken", "params": {"device": "bench", "t": time.time()}}}))
                    await ws.recv()
                    await asyncio.sleep(a.interval)
        asyncio.run(emit())
        rss = open(f"/proc/{d.proc.pid}/status").read().split("VmRSS:")[1].split("\n")[0].strip()
        lat = []
        for _ in procs:
            lat += results.get(timeout=120)
        for p in procs:
            p.join(timeout=30)
        lat.sort()
        q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))] * 1000
        print(f"subscribers {a.subscribers}, events {a.events}, deliveries {len(lat)} (expected {a.subscribers * a.events})")
        print(f"latency ms: p50 {q(0.5):.2f}  p90 {q(0.9):.2f}  p99 {q(0.99):.2f}  max {lat[-1] * 1000:.2f}")
        print(f"server RSS with {a.subscribers} subscribers: {rss}")
    finally:
        d.stop()


if __name__ == "__main__":
    main()
