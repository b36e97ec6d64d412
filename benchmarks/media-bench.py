#!/usr/bin/env python3
"""Media benchmarks through the release daemon, with the MediaMTX stand-in (Tests/mediamtx) and
test-pattern cameras. Prints one table per part; the numbers go to docs/performance.md.

  benchmarks/media-bench.py streaming   [--runs 20]   start_streaming on a cold camera until a first frame reads over RTSP; get_streams with 64 cameras
  benchmarks/media-bench.py snapshots   [--runs 50]   take_snapshot latency by tier, cached and uncached
  benchmarks/media-bench.py recording   [--runs 10]   start_recording until the first bytes are on disk; CPU and memory recording two 720p30 cameras
  benchmarks/media-bench.py all

The stand-in's GStreamer relay serves a new RTSP reader more slowly than MediaMTX does (about
0.5-0.7 s before the first packet): figures that include a new reader of the stream (cold
start, uncached tier 1, tier 2) carry that cost; with the real MediaMTX they are lower.
"""
import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "integration"))
sys.path.append(str(REPO / "Tests" / "mediamtx"))
import conftest  # noqa: E402
import mtx_server  # noqa: E402
from client import Client  # noqa: E402
from conftest import DEFAULT_PLUGINS, Daemon  # noqa: E402

FIXTURES = None


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def row(label, values, unit="ms"):
    ms = [x * 1000 for x in values] if unit == "ms" else values
    print(f"| {label} | {len(values)} | {pct(ms, 50):.0f} | {pct(ms, 99):.0f} | {min(ms):.0f} | {max(ms):.0f} |")


def header(title):
    print(f"\n{title}\n\n| what | n | p50 ms | p99 ms | min ms | max ms |\n|---|---|---|---|---|---|")


def cams(n, size="320x240", fps=15):
    return [{"name": f"cam{i}", "resolution": size, "fps": fps, "pattern": "testsrc"} for i in range(n)]


def start(tmp, cameras, mtx=None, capture=None, storage=True):
    tmp.mkdir(parents=True, exist_ok=True)
    plugins = [DEFAULT_PLUGINS[0], {"name": "test_pattern_source", "library": "TestPatternSource", "config": {"cameras": cameras}}]
    if mtx:
        plugins.append({"name": "mediamtx_backend", "library": "MediaMTXBackend",
                        "config": {"api_url": f"http://127.0.0.1:{mtx.api_port}", "rtsp_port": mtx.rtsp_port, "health_interval": 1}})
    if capture is not None:
        plugins.append({"name": "ffmpeg_capture", "library": "FFmpegCapture", "config": capture})
    if storage:
        plugins.append({"name": "fixture_storage", "library": str(FIXTURES / "libFixtureDirStorage.so"), "config": {"root": str(tmp / "store")}})
    d = Daemon(tmp, plugins=plugins, config={"logging": {"level": "warning"},
                                             "security": {"rate_limit": {"requests_per_second": 1e6, "burst": 1e6}}})
    return d.start(timeout=20)


def first_frame(url, timeout=30):
    """A low-latency reader (no stream analysis, as the daemon's own readers and players like
    ffplay -fflags nobuffer do): FFmpeg's default analysis alone takes 2-3 s of the stream."""
    r = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp", "-analyzeduration", "0", "-probesize", "32",
                        "-i", url, "-frames:v", "1", "-f", "null", "-"],
                       capture_output=True, timeout=timeout)
    return r.returncode == 0


def streaming(runs):
    tmp = Path(tempfile.mkdtemp())
    mtx = mtx_server.MediaMTX(tmp / "mtx").start()
    d = start(tmp / "d", cams(1), mtx=mtx, storage=False)
    try:
        async def cold():
            c = await Client.open(d.url, "admin")
            api, frame = [], []
            for _ in range(runs):
                await c.call("stop_streaming", {"device": "test_cam0"})
                await asyncio.sleep(1)
                t0 = time.monotonic()
                r = await c.call("start_streaming", {"device": "test_cam0"})
                t1 = time.monotonic()
                assert "result" in r, r
                ok = await asyncio.to_thread(first_frame, f"rtsp://127.0.0.1:{mtx.rtsp_port}/test_cam0")
                t2 = time.monotonic()
                assert ok
                api.append(t1 - t0)
                frame.append(t2 - t0)
            return api, frame
        api, frame = asyncio.run(cold())
        header(f"start_streaming on a cold camera (stand-in relay, 320x240@15), {runs} runs")
        row("start_streaming answered (publisher running, path ready)", api)
        row("… until a new reader has its first frame", frame)
    finally:
        d.stop()
    d64 = start(tmp / "d64", cams(64), mtx=mtx, storage=False)
    try:
        async def listing():
            c = await Client.open(d64.url, "admin")
            for _ in range(50):  # until every path is configured
                if (await c.call("get_streams"))["result"]["total"] == 64:
                    break
                await asyncio.sleep(0.2)
            times = []
            for _ in range(200):
                t0 = time.monotonic()
                r = await c.call("get_streams")
                times.append(time.monotonic() - t0)
                assert r["result"]["total"] == 64
            return times
        times = asyncio.run(listing())
        header("get_streams with 64 cameras (one /v3/paths/list each)")
        row("get_streams", times)
    finally:
        d64.stop()
        mtx.stop()


def snapshots(runs):
    tmp = Path(tempfile.mkdtemp())
    header(f"take_snapshot by tier, {runs} each (320x240@15 test pattern, jpg)")
    d = start(tmp / "direct", cams(1), capture={})
    try:
        async def direct():
            c = await Client.open(d.url, "operator")
            out = []
            for _ in range(runs):
                t0 = time.monotonic()
                r = (await c.call("take_snapshot", {"device": "test_cam0"}))["result"]
                out.append(time.monotonic() - t0)
                assert r["tier"] == 3
            return out
        row("tier 3: direct (no media backend)", asyncio.run(direct()))
    finally:
        d.stop()
    mtx = mtx_server.MediaMTX(tmp / "mtx").start()
    try:
        for cache in (False, True):
            d = start(tmp / f"s{cache}", cams(1), mtx=mtx, capture={"snapshot_cache": cache, "stream_snapshot_timeout": 10})
            try:
                async def tiers():
                    c = await Client.open(d.url, "operator")
                    t2, t1 = [], []
                    for i in range(runs if not cache else 1):
                        await c.call("stop_streaming", {"device": "test_cam0"})
                        await asyncio.sleep(1)
                        t0 = time.monotonic()
                        r = (await c.call("take_snapshot", {"device": "test_cam0"}))["result"]
                        t2.append(time.monotonic() - t0)
                        assert r["tier"] == 2, r
                    await c.call("start_streaming", {"device": "test_cam0"})
                    ages = []
                    for _ in range(runs):
                        if not cache:
                            # A client arrives at any moment of the publisher's 1 s keyframe
                            # interval: back to back, each new reader would start just after
                            # a keyframe and always wait a whole interval for the next.
                            await asyncio.sleep(random.uniform(0, 1))
                        t0 = time.monotonic()
                        r = (await c.call("take_snapshot", {"device": "test_cam0"}))["result"]
                        t1.append(time.monotonic() - t0)
                        ages.append(r["frame_age_ms"] / 1000)
                        assert r["tier"] == 1, r
                    return t2, t1, ages
                t2, t1, ages = asyncio.run(tiers())
                if not cache:
                    row("tier 2: stream started on demand, then a frame", t2)
                    row("tier 1 uncached: a new reader of the running stream", t1)
                else:
                    row("tier 1 cached: from the frame cache in memory", t1)
                    row("… the frames' age when answered", ages)
            finally:
                d.stop()
    finally:
        mtx.stop()


def proc_usage(pids):
    """Summed CPU seconds and RSS bytes of the processes."""
    cpu = rss = 0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            cpu += (int(f[11]) + int(f[12])) / tick
            rss += int(open(f"/proc/{pid}/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return cpu, rss


def family(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid] + [int(x) for x in out]


def recording(runs):
    tmp = Path(tempfile.mkdtemp())
    d = start(tmp / "first", cams(1), capture={"segment_duration": 10})
    try:
        async def first_bytes():
            c = await Client.open(d.url, "operator")
            head, fragment = [], []
            for _ in range(runs):
                t0 = time.monotonic()
                r = (await c.call("start_recording", {"device": "test_cam0"}))["result"]
                path = tmp / "first" / "store" / "recordings" / "test_cam0" / r["filename"]
                while not (path.exists() and path.stat().st_size > 0):
                    await asyncio.sleep(0.005)
                head.append(time.monotonic() - t0)
                while b"moof" not in path.read_bytes():
                    await asyncio.sleep(0.01)
                fragment.append(time.monotonic() - t0)
                await c.call("stop_recording", {"device": "test_cam0"})
                await asyncio.sleep(1.1)  # segment names are per second
            return head, fragment
        header(f"start_recording until bytes are on disk (direct, encoded, fmp4), {runs} runs")
        head, fragment = asyncio.run(first_bytes())
        row("start_recording → the file's first bytes (its header)", head)
        row("start_recording → the first video fragment on disk", fragment)
    finally:
        d.stop()
    print("\nRecording two 1280x720@30 cameras for 20 s: CPU of the daemon and its FFmpeg children (percent of one core), memory\n")
    print("| mode | daemon CPU % | children CPU % | daemon RSS MB | children RSS MB |\n|---|---|---|---|---|")
    hd = cams(2, "1280x720", 30)
    mtx = mtx_server.MediaMTX(tmp / "mtx").start()
    try:
        for mode in ("copy", "transcode"):
            d = start(tmp / mode, hd, mtx=mtx if mode == "copy" else None, capture={"segment_duration": 10})
            try:
                async def run():
                    c = await Client.open(d.url, "operator")
                    for cam in ("test_cam0", "test_cam1"):
                        r = await c.call("start_recording", {"device": cam})
                        assert "result" in r, r
                    await asyncio.sleep(3)
                    pids = family(d.proc.pid)
                    cpu0, _ = proc_usage(pids[:1])
                    kids0, _ = proc_usage(pids[1:])
                    t0 = time.monotonic()
                    await asyncio.sleep(20)
                    el = time.monotonic() - t0
                    cpu1, rss = proc_usage(pids[:1])
                    kids1, krss = proc_usage(pids[1:])
                    for cam in ("test_cam0", "test_cam1"):
                        await c.call("stop_recording", {"device": cam})
                    return (cpu1 - cpu0) / el * 100, (kids1 - kids0) / el * 100, rss / 1e6, krss / 1e6
                a, b, c_, e = asyncio.run(run())
                label = "copy (read the published stream, -c copy)" if mode == "copy" else "transcode (direct from the camera, libx264)"
                print(f"| {label} | {a:.1f} | {b:.0f} | {c_:.1f} | {e:.0f} |")
            finally:
                d.stop()
    finally:
        mtx.stop()
    print("\n(copy: the children are the recorders and keepers; the publishers MediaMTX runs are the stand-in's and not counted)")


def main():
    global FIXTURES
    ap = argparse.ArgumentParser()
    ap.add_argument("part", choices=["streaming", "snapshots", "recording", "all"])
    ap.add_argument("--runs", type=int)
    a = ap.parse_args()
    subprocess.run(["swift", "build", "-c", "release"], cwd=REPO, check=True, capture_output=True)
    conftest.BIN = REPO / ".build" / "release" / "camera-service"
    FIXTURES = Path(tempfile.mkdtemp())
    subprocess.run([str(REPO / "Tests/Fixtures/build.sh"), str(REPO / ".build/release"), str(FIXTURES)], check=True, capture_output=True)
    if a.part in ("streaming", "all"):
        streaming(a.runs or 20)
    if a.part in ("snapshots", "all"):
        snapshots(a.runs or 50)
    if a.part in ("recording", "all"):
        recording(a.runs or 10)


if __name__ == "__main__":
    main()
