#!/usr/bin/env python3
"""FileStore benchmarks against the release daemon (jwt_auth + file_store, probes off):

1. start-up reconcile of a store of N files (default 100,000 in 8 camera directories): with a
   new catalogue, with an up-to-date one, and after the catalogue was deleted;
2. a listing page (`list_recordings`, limit 50) in lockstep from one WebSocket client, at the
   first page, at random offsets, at the last page, and for one camera: p50/p99;
3. downloads of a 200 MB file: one curl, then twenty in parallel, aggregate throughput, with
   the `ping` round trip of another client (lockstep) measured beside them and without them;
4. (`--parts rescan`) listing pages while the periodic rescan of every directory runs (every
   2 s instead of 600 s): how long a request can wait behind it.

  benchmarks/files-bench.py [--files 100000] [--pages 2000] [--mb 200] [--clients 20] [--parts reconcile,list,download,rescan] [--pin] [--keep DIR]

Build first: flock /tmp/swift-build.lock swift build -c release. Numbers: docs/performance.md.
"""
import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "integration"))
import conftest  # noqa: E402
from conftest import DEFAULT_PLUGINS, Daemon, make_token, rpc_message  # noqa: E402

import websockets  # noqa: E402


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def fmt_ms(values):
    return f"p50 {pct(values, 50) * 1000:.2f} ms, p99 {pct(values, 99) * 1000:.2f} ms, max {max(values) * 1000:.2f} ms (n={len(values)})"


def make_files(rec, n, cameras=8):
    t0 = time.time()
    base = 1_700_000_000
    for c in range(cameras):
        (rec / f"camera{c}").mkdir(parents=True, exist_ok=True)
    payload = b"\0" * 64
    for i in range(n):
        c = i % cameras
        t = time.gmtime(base + i * 60)
        name = f"camera{c}_{time.strftime('%Y-%m-%d_%H-%M-%S', t)}.mp4"
        p = rec / f"camera{c}" / name
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, payload)
        os.close(fd)
        os.utime(p, (base + i * 60, base + i * 60))
    return time.time() - t0


def reconcile_ms(d):
    """The daemon's own figure from its start-up log line."""
    for l in d.log_lines():
        m = re.search(r"file catalogue: .* in (\d+) ms", l.get("msg", ""))
        if m:
            return int(m.group(1))
    return None


PIN = False


def start_timed(d):
    t = time.perf_counter()
    d.start(timeout=120)
    elapsed = time.perf_counter() - t
    if PIN:
        subprocess.run(["taskset", "-a", "-p", "-c", "0", str(d.proc.pid)], check=True, capture_output=True)
    return elapsed


async def lockstep(url, calls, token):
    """Each call's round trip, one after the other on one connection."""
    out = []
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(rpc_message("authenticate", {"auth_token": token}, id=0))
        await ws.recv()
        for i, (method, params) in enumerate(calls):
            t = time.perf_counter()
            await ws.send(rpc_message(method, params, id=i + 1))
            while True:
                m = json.loads(await ws.recv())
                if m.get("id") == i + 1:
                    break
            out.append(time.perf_counter() - t)
            assert "result" in m, m
    return out


async def one_call(url, method, token):
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(rpc_message("authenticate", {"auth_token": token}, id=0))
        await ws.recv()
        await ws.send(rpc_message(method, id=1))
        while True:
            m = json.loads(await ws.recv())
            if m.get("id") == 1:
                return m


async def ping_during(url, token, stop):
    out = []
    async with websockets.connect(url) as ws:
        await ws.send(rpc_message("authenticate", {"auth_token": token}, id=0))
        await ws.recv()
        i = 0
        while not stop.is_set():
            i += 1
            t = time.perf_counter()
            await ws.send(rpc_message("ping", id=i))
            while json.loads(await ws.recv()).get("id") != i:
                pass
            out.append(time.perf_counter() - t)
            await asyncio.sleep(0.002)
    return out


async def downloads(d, url_path, clients, token, mb):
    """`clients` curl downloads at once, with pings beside them; returns (seconds, pings)."""
    stop = asyncio.Event()
    pinger = asyncio.create_task(ping_during(d.url, make_token("viewer"), stop))
    await asyncio.sleep(0.5)
    t = time.perf_counter()
    procs = [await asyncio.create_subprocess_exec("curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{size_download}",
                                                  "-H", f"Authorization: Bearer {token}", d.http + url_path,
                                                  stdout=asyncio.subprocess.PIPE) for _ in range(clients)]
    sizes = [int((await p.communicate())[0]) for p in procs]
    elapsed = time.perf_counter() - t
    await asyncio.sleep(0.3)
    stop.set()
    pings = await pinger
    assert all(s == mb << 20 for s in sizes), sizes
    return elapsed, pings


def rss_mb(d):
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{d.proc.pid}/status").read_text()).group(1)) // 1024


def bench_reconcile(d, db, n):
    """Three starts: new catalogue, up-to-date catalogue, catalogue deleted. Leaves the daemon running."""
    def forget():
        for suffix in ["", "-wal", "-shm"]:
            Path(str(db) + suffix).unlink(missing_ok=True)
    forget()
    for label in ["new catalogue", "catalogue up to date", "catalogue deleted (rebuilt)"]:
        if d.proc:
            d.stop()
            d.log_path.unlink()
        if label.startswith("catalogue deleted"):
            forget()
        wall = start_timed(d)
        print(f"start, {label}: reconcile of {n} files {reconcile_ms(d)} ms, daemon listening after {wall:.2f} s")
    print(f"daemon RSS with {n} files catalogued: {rss_mb(d)} MB")


def bench_listing(d, n, pages):
    token = make_token("viewer")
    scenarios = {
        "first page": [("list_recordings", {"limit": 50})] * pages,
        "random offsets": [("list_recordings", {"limit": 50, "offset": random.randrange(0, n - 50)}) for _ in range(pages)],
        "last page": [("list_recordings", {"limit": 50, "offset": n - 50})] * (pages // 4),
        "one camera, random offsets": [("list_recordings", {"limit": 50, "device": "camera3", "offset": random.randrange(0, n // 8 - 50)})
                                       for _ in range(pages)],
    }
    asyncio.run(lockstep(d.url, [("list_recordings", {"limit": 50})] * 200, token))  # warm-up
    for label, calls in scenarios.items():
        print(f"list_recordings limit 50, {label}: {fmt_ms(asyncio.run(lockstep(d.url, calls, token)))}")
    print(f"ping, same client (its own round trip): {fmt_ms(asyncio.run(lockstep(d.url, [('ping', None)] * pages, token)))}")
    metrics = asyncio.run(one_call(d.url, "get_metrics", make_token("admin")))["result"]["requests"]["per_method"]["list_recordings"]
    print(f"list_recordings inside the daemon (get_metrics, all of the above): p50 {metrics['p50_ms']} ms, p99 {metrics['p99_ms']} ms, "
          f"n={metrics['count']}")


async def timed_lockstep(url, token, n, seconds):
    """list_recordings at random offsets, one after the other, for `seconds`."""
    out = []
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(rpc_message("authenticate", {"auth_token": token}, id=0))
        await ws.recv()
        end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < end:
            i += 1
            t = time.perf_counter()
            await ws.send(rpc_message("list_recordings", {"limit": 50, "offset": random.randrange(0, n - 50)}, id=i))
            while json.loads(await ws.recv()).get("id") != i:
                pass
            out.append(time.perf_counter() - t)
    return out


def bench_rescan(d, n, seconds=12.0):
    times = asyncio.run(timed_lockstep(d.url, make_token("viewer"), n, seconds))
    slow = sum(1 for t in times if t > 0.05)
    print(f"list_recordings during {seconds:.0f} s with a rescan every 2 s: {fmt_ms(times)}, p99.9 {pct(times, 99.9) * 1000:.2f} ms, "
          f"{slow} over 50 ms")


def bench_downloads(d, rec, mb, clients):
    token = make_token("viewer")
    big = rec / "camera0" / "camera0_2030-01-01_00-00-00.mp4"
    if not big.exists() or big.stat().st_size != mb << 20:
        with open(big, "wb") as f:
            for _ in range(mb):
                f.write(os.urandom(1 << 20))
    path = f"/files/recordings/{big.name}"
    deadline = time.time() + 10
    while time.time() < deadline:
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Authorization: Bearer {token}", d.http + path],
                           capture_output=True, text=True)
        if r.stdout == "200":
            break
        time.sleep(0.1)
    subprocess.run(["cat", str(big)], stdout=subprocess.DEVNULL)  # page cache warm: measure the daemon, not the disk
    print(f"ping with no download: {fmt_ms(asyncio.run(ping_idle(d, 3.0)))}")
    for n in (1, clients):
        secs, pings = asyncio.run(downloads(d, path, n, token, mb))
        print(f"{n} parallel download(s) of {mb} MB: {secs:.2f} s, {n * mb / secs:.0f} MB/s aggregate, {mb / secs:.0f} MB/s each; "
              f"ping beside them: {fmt_ms(pings)}")
    print(f"daemon RSS after the downloads: {rss_mb(d)} MB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--parts", default="reconcile,list,download", help="which measurements, comma-separated")
    ap.add_argument("--pin", action="store_true", help="daemon (all threads) on CPU 0, this script and curl on CPU 1")
    ap.add_argument("--keep", help="work directory to use and keep (default: a temporary one, removed)")
    a = ap.parse_args()
    conftest.BIN = Path(os.environ.get("CAMERA_SERVICE_BIN", REPO / ".build" / "release" / "camera-service"))
    tmp = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="files-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    rec = tmp / "media" / "recordings"
    parts = set(a.parts.split(","))
    store = {"recordings_dir": "media/recordings", "snapshots_dir": "media/snapshots", "probe": False}
    if "rescan" in parts:
        store["rescan_interval"] = 2
    plugins = [DEFAULT_PLUGINS[0], {"name": "file_store", "library": "FileStore", "config": store}]
    cfg = {"logging": {"level": "info"}, "security": {"rate_limit": {"requests_per_second": 1_000_000, "burst": 1_000_000}}}
    d = Daemon(tmp, plugins=plugins, config=cfg)
    if a.pin:
        global PIN
        PIN = True
        os.sched_setaffinity(0, {1})
    print(f"binary {conftest.BIN}, work directory {tmp}")
    try:
        if len(list((rec / "camera0").glob("camera0_20[12]*.mp4"))) * 8 < a.files:
            print(f"creating {a.files} files … {make_files(rec, a.files):.1f} s")
        if "reconcile" in parts:
            bench_reconcile(d, tmp / "data" / "file-store.sqlite", a.files)
        else:
            start_timed(d)
        if "list" in parts:
            bench_listing(d, a.files, a.pages)
        if "download" in parts:
            bench_downloads(d, rec, a.mb, a.clients)
        if "rescan" in parts:
            bench_rescan(d, a.files)
    finally:
        d.stop()
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)


async def ping_idle(d, seconds):
    stop = asyncio.Event()
    task = asyncio.create_task(ping_during(d.url, make_token("viewer"), stop))
    await asyncio.sleep(seconds)
    stop.set()
    return await task


if __name__ == "__main__":
    main()
