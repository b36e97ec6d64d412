#!/usr/bin/env python3
"""Hot-plug latency: time from a device node appearing/vanishing to the camera event reaching a
subscribed WebSocket client, through the real V4L2Source code (inotify discovery, ioctl probe)
on the fake V4L2 device (Tests/FakeV4L2, LD_PRELOAD on the daemon).

  benchmarks/hotplug-latency.py [--cycles 200]
"""
import argparse
import asyncio
import json
import os
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

UVC = "card=HD USB Camera\nformats=YUYV:640x480@30,15;1280x720@10|MJPG:640x480@30;1280x720@30,15;1920x1080@30\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=200)
    a = ap.parse_args()
    subprocess.run(["swift", "build", "-c", "release"], cwd=REPO, check=True, capture_output=True)
    subprocess.run(["make", "-s", "-C", str(REPO / "Tests/FakeV4L2")], check=True, capture_output=True)
    conftest.BIN = REPO / ".build" / "release" / "camera-service"
    tmp = Path(tempfile.mkdtemp())
    dev = tmp / "dev"
    dev.mkdir()
    plugins = [DEFAULT_PLUGINS[0], {"name": "v4l2_source", "library": "V4L2Source", "config": {"devices_dir": str(dev), "discovery": "inotify"}}]
    d = Daemon(tmp, plugins=plugins, config={"logging": {"level": "warning"}},
               env={"LD_PRELOAD": str(REPO / "Tests/FakeV4L2/libfakev4l2.so"), "FAKE_V4L2_DIR": str(dev)})
    d.start()

    async def run():
        plug_ms, unplug_ms = [], []
        async with websockets.connect(d.url) as ws:
            await ws.send(rpc_message("authenticate", {"auth_token": make_token("viewer")}))
            await ws.recv()
            await ws.send(rpc_message("subscribe_events", {"topics": ["camera.connected", "camera.disconnected"]}, id=2))
            await ws.recv()

            async def wait_for(method):
                while True:
                    m = json.loads(await asyncio.wait_for(ws.recv(), 5))
                    if m.get("method") == method:
                        return
            for i in range(a.cycles):
                (dev / ".new").write_text(UVC)
                t = time.perf_counter()
                os.rename(dev / ".new", dev / "video0")
                await wait_for("camera.connected")
                plug_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                os.remove(dev / "video0")
                await wait_for("camera.disconnected")
                unplug_ms.append((time.perf_counter() - t) * 1000)
        return plug_ms, unplug_ms
    try:
        plug_ms, unplug_ms = asyncio.run(run())
    finally:
        d.stop()
    for name, v in (("plug (node appears -> camera.connected)", plug_ms), ("unplug (node removed -> camera.disconnected)", unplug_ms)):
        v.sort()
        q = lambda f: v[min(len(v) - 1, int(f * len(v)))]
        print(f"{name}: n={len(v)} p50 {q(0.5):.2f} ms  p99 {q(0.99):.2f} ms  max {v[-1]:.2f} ms")


if __name__ == "__main__":
    main()
