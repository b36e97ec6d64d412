"""The MediaMTX backend through the running daemon, against the MediaMTX stand-in
(Tests/mediamtx; the real MediaMTX when MEDIAMTX_BIN is set): path lifecycle with
test-pattern and fake-V4L2 cameras, streaming methods with real RTSP reads, MediaMTX absent,
killed, restarted and hanging (circuit breaker visible, paths restored, nothing else slowed),
role checks, and every request the daemon sends checked against MediaMTX's OpenAPI spec."""
import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from client import Client
from conftest import DEFAULT_PLUGINS, REPO, make_token, wait_for

sys.path.insert(0, str(REPO / "Tests" / "mediamtx"))
import mtx_server  # noqa: E402
import openapi_check  # noqa: E402

CAMERA = {"name": "cam0", "resolution": "320x240", "fps": 15, "pattern": "testsrc"}


def backend_plugin(mtx=None, api_port=None, **extra):
    config = {"api_url": f"http://127.0.0.1:{api_port or mtx.api_port}", "rtsp_port": mtx.rtsp_port if mtx else 18554,
              "health_interval": 0.3, "request_timeout": 0.5, "start_timeout": 15, "max_backoff": 1, "failure_threshold": 2}
    config.update(extra)
    return {"name": "mediamtx_backend", "library": "MediaMTXBackend", "config": config}


def pattern_plugin(cameras=(CAMERA,)):
    return {"name": "test_pattern_source", "library": "TestPatternSource", "config": {"cameras": list(cameras)}}


@pytest.fixture
def mtx(tmp_path):
    m = mtx_server.MediaMTX(tmp_path / "mtx").start()
    yield m
    m.stop()


@pytest.fixture
def media(daemon_factory, mtx):
    d = daemon_factory(plugins=[DEFAULT_PLUGINS[0], pattern_plugin(), backend_plugin(mtx)]).start()
    d.mtx = mtx
    wait_for(lambda: "test_cam0" in configured(mtx), "the path to be added")
    return d


def api(mtx, method, path, body=None):
    status, _, data = mtx.request(method, path, json.dumps(body).encode() if body is not None else None)
    return status, (json.loads(data) if data and data.startswith(b"{") else data)


def configured(mtx):
    status, body = api(mtx, "GET", "/v3/config/paths/list?itemsPerPage=1000")
    return {i["name"]: i for i in body["items"]} if status == 200 else {}


def ffprobe(url, timeout=20):
    r = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries", "stream=codec_name,width,height,profile",
                        "-of", "json", url], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["streams"][0]


async def until_note(c, match, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = await c.note(max(0.1, deadline - time.monotonic()))
        if match(n):
            return n
    raise AssertionError("no such notification")


async def status(c):
    return (await c.call("get_status"))["result"]["components"]


def test_paths_follow_the_cameras(media):
    conf = configured(media.mtx)["test_cam0"]
    assert conf["source"] == "publisher" and conf["runOnDemandRestart"] is True
    cmd = conf["runOnDemand"]
    assert cmd.startswith("ffmpeg ") and "-f lavfi -i testsrc=size=320x240:rate=15" in cmd
    assert "-c:v libx264 -profile:v baseline" in cmd and "-pix_fmt yuv420p" in cmd and "rtsp://127.0.0.1:$RTSP_PORT/$MTX_PATH" in cmd

    async def go():
        c = await Client.open(media.url, "admin")
        cams = (await c.call("get_camera_list"))["result"]["cameras"]
        for _ in range(30):
            comps = await status(c)
            if comps["mediamtx"]["status"] == "healthy":
                break
            await asyncio.sleep(0.1)
        return cams, comps
    cams, comps = asyncio.run(go())
    # The URLs are the ones MediaMTX serves, with the host the client used.
    assert cams[0]["streams"] == {"rtsp": f"rtsp://127.0.0.1:{media.mtx.rtsp_port}/test_cam0", "webrtc": "http://127.0.0.1:8889/test_cam0",
                                  "hls": "http://127.0.0.1:8888/test_cam0/index.m3u8"}
    m = comps["mediamtx"]
    assert m["status"] == "healthy" and m["circuit_breaker"] == "closed" and m["version"] == "v1.20.1" and m["last_success"]


def test_start_streaming_serves_real_rtsp(media):
    async def go():
        op = await Client.open(media.url, "operator")
        await op.call("subscribe_events", {"topics": ["stream.started", "stream.stopped"]})
        started = (await op.call("start_streaming", {"device": "test_cam0"}))["result"]
        note = await op.note(5)
        probe = await asyncio.to_thread(ffprobe, f"rtsp://127.0.0.1:{media.mtx.rtsp_port}/test_cam0")
        st = (await op.call("get_stream_status", {"device": "test_cam0"}))["result"]
        url = (await op.call("get_stream_url", {"device": "test_cam0"}))["result"]
        streams = (await op.call("get_streams"))["result"]
        cam = (await op.call("get_camera_status", {"device": "test_cam0"}))["result"]
        stopped = (await op.call("stop_streaming", {"device": "test_cam0"}))["result"]
        stop_note = await op.note(5)
        after = (await op.call("get_stream_status", {"device": "test_cam0"}))["result"]
        return started, note, probe, st, url, streams, cam, stopped, stop_note, after
    started, note, probe, st, url, streams, cam, stopped, stop_note, after = asyncio.run(go())
    assert started["status"] == "STARTED" and started["stream_url"].endswith("/test_cam0") and started["auto_close_after"] == 300
    assert note["method"] == "stream.started" and note["params"]["device"] == "test_cam0" and note["params"]["ready"] is True
    assert probe["codec_name"] == "h264" and probe["width"] == 320 and probe["height"] == 240 and "Baseline" in probe.get("profile", "")
    assert st["status"] == "ACTIVE" and st["ready"] is True and st["bytes_sent"] > 0 and st["start_time"]
    assert url["available"] is True and url["stream_status"] == "ACTIVE"
    assert streams["total"] == 1 and streams["active"] == 1 and streams["streams"][0]["source"] == "rtspSession"
    assert cam["metrics"]["bytes_sent"] > 0 and cam["metrics"]["uptime"] >= 0
    assert stopped["status"] == "STOPPED" and stopped["still_publishing"] is False
    assert stop_note["method"] == "stream.stopped" and after["status"] in ("INACTIVE", "STARTING")
    # The publisher MediaMTX ran is gone (stopped with SIGINT to its process group).
    if media.mtx.is_standin:
        def publisher_gone():
            hooks = json.loads(media.mtx.request("GET", "/_stub/hooks")[2])
            ours = [h for h in hooks if h.get("path") == "test_cam0" and h.get("kind") == "runOnDemand"]
            return ours and not any(h["running"] for h in ours)
        wait_for(publisher_gone, "the publisher to stop", timeout=8)


def test_metrics_report_the_backends_streams(media):
    """get_metrics has stream figures when a media backend is loaded, taken from it (the same
    as get_streams), and none for recordings without a capture engine."""
    async def go():
        admin = await Client.open(media.url, "admin")
        await admin.call("start_streaming", {"device": "test_cam0"})
        streams = (await admin.call("get_streams"))["result"]
        metrics = (await admin.call("get_metrics"))["result"]
        info = (await admin.call("get_server_info"))["result"]
        await admin.call("stop_streaming", {"device": "test_cam0"})
        return streams, metrics, info
    streams, metrics, info = asyncio.run(go())
    assert streams["total"] == 1 and streams["active"] == 1
    m = metrics["streams"]
    assert (m["total"], m["active"]) == (streams["total"], streams["active"]) and isinstance(m["viewers"], int) and m["viewers"] >= 0
    assert "recordings" not in metrics
    assert "streaming" in info["capabilities"] and info["supported_formats"] == []  # no capture engine


def test_roles_of_the_streaming_methods(media):
    async def go():
        viewer = await Client.open(media.url, "viewer")
        out = {}
        for m in ("start_streaming", "stop_streaming", "get_stream_url", "get_stream_status"):
            out[m] = await viewer.call(m, {"device": "test_cam0"})
        out["get_streams"] = await viewer.call("get_streams")
        out["unknown"] = await viewer.call("get_stream_status", {"device": "no_such_cam"})
        return out
    r = asyncio.run(go())
    for m in ("start_streaming", "stop_streaming"):
        assert r[m]["error"]["code"] == -32002 and r[m]["error"]["data"]["required_role"] == "operator"
    for m in ("get_stream_url", "get_stream_status", "get_streams"):
        assert "result" in r[m], r[m]
    assert r["unknown"]["error"]["code"] == -32010


def test_a_path_removed_behind_our_back_comes_back(media):
    assert api(media.mtx, "DELETE", "/v3/config/paths/delete/test_cam0")[0] == 200
    wait_for(lambda: "test_cam0" in configured(media.mtx), "the path to be re-added")
    # Paths we did not create are left alone.
    assert api(media.mtx, "POST", "/v3/config/paths/add/someone_elses", {})[0] == 200
    time.sleep(1)
    assert "someone_elses" in configured(media.mtx)


def test_mediamtx_absent_then_appearing(daemon_factory, tmp_path):
    mtx = mtx_server.MediaMTX(tmp_path / "later")  # ports chosen, nothing listening yet
    d = daemon_factory(plugins=[DEFAULT_PLUGINS[0], pattern_plugin(), backend_plugin(mtx)]).start()

    async def go():
        c = await Client.open(d.url, "admin")
        for _ in range(150):  # refused connections open the circuit within about a second
            comps = await status(c)
            if comps["mediamtx"]["status"] == "unhealthy":
                break
            await asyncio.sleep(0.1)
        t0 = time.monotonic()
        refused = await c.call("start_streaming", {"device": "test_cam0"})
        refused_in = time.monotonic() - t0
        ping = await c.call("ping")
        cams = await c.call("get_camera_list")
        return comps, refused, refused_in, ping, cams, c
    comps, refused, refused_in, ping, cams, c = asyncio.run(go())
    assert comps["mediamtx"]["status"] == "unhealthy" and comps["mediamtx"]["circuit_breaker"] in ("open", "half_open")
    assert "Connection refused" in (comps["mediamtx"]["last_error"] or "") or "connect" in (comps["mediamtx"]["last_error"] or "")
    e = refused["error"]
    assert e["code"] == -32050 and e["data"]["dependency"] == "mediamtx" and refused_in < 2
    assert ping["result"] == "pong" and cams["result"]["total"] == 1
    mtx.start()
    try:
        wait_for(lambda: "test_cam0" in configured(mtx), "the paths once MediaMTX appears")

        async def later():
            c2 = await Client.open(d.url, "admin")
            for _ in range(50):
                comps = await status(c2)
                if comps["mediamtx"]["circuit_breaker"] == "closed":
                    return comps
                await asyncio.sleep(0.2)
            return comps
        comps = asyncio.run(later())
        assert comps["mediamtx"]["status"] == "healthy" and comps["mediamtx"]["circuit_breaker"] == "closed"
    finally:
        mtx.stop()


def test_mediamtx_killed_and_restarted(media):
    mtx = media.mtx

    async def go():
        c = await Client.open(media.url, "admin")
        await c.call("subscribe_events", {"topics": ["system.health", "mediamtx_backend.paths_restored"]})
        mtx.proc.send_signal(signal.SIGKILL)
        mtx.proc.wait()
        seen = []
        for _ in range(40):
            comps = await status(c)
            seen.append(comps["mediamtx"]["circuit_breaker"])
            if seen[-1] == "open":
                break
            await asyncio.sleep(0.2)
        down = await c.call("get_stream_status", {"device": "test_cam0"})
        mtx.start()  # same ports, empty configuration: as a restarted MediaMTX
        for _ in range(75):
            comps = await status(c)
            if comps["mediamtx"]["circuit_breaker"] == "closed" and "test_cam0" in configured(mtx):
                break
            await asyncio.sleep(0.2)
        notes = []
        try:
            while True:
                notes.append(await c.note(2))
        except asyncio.TimeoutError:
            pass
        return seen, down, comps, notes
    seen, down, comps, notes = asyncio.run(go())
    assert "open" in seen
    assert down["error"]["code"] == -32050 and down["error"]["data"]["dependency"] == "mediamtx"
    assert comps["mediamtx"]["circuit_breaker"] == "closed" and "test_cam0" in configured(mtx)
    health = [n["params"] for n in notes if n["method"] == "system.health" and n["params"].get("component") == "mediamtx"]
    assert {"unhealthy", "healthy"} <= {h["component_status"] for h in health}
    restored = [n for n in notes if n["method"] == "mediamtx_backend.paths_restored"]
    assert restored and restored[0]["params"]["paths"] >= 1


def test_a_restart_seen_only_in_started_and_a_breaker_confirming(daemon_factory, mtx):
    """A MediaMTX that restarts between two health checks never fails a request: only its new
    `started` says it lost our paths, which come back. Killed and back, the breaker is seen
    half-open (confirming, with confirmations: 12) before it closes, in get_status and
    /health/detailed alike."""
    d = daemon_factory(plugins=[DEFAULT_PLUGINS[0], pattern_plugin(), backend_plugin(mtx, confirmations=12)]).start()
    wait_for(lambda: "test_cam0" in configured(mtx), "the path to be added")

    def detailed():
        r = subprocess.run(["curl", "-s", d.http + "/health/detailed"], capture_output=True, text=True, timeout=10)
        return {c["name"]: c for c in json.loads(r.stdout)["components"]}["mediamtx"]

    async def go():
        c = await Client.open(d.url, "admin")
        await c.call("subscribe_events", {"topics": ["mediamtx_backend.paths_restored"]})
        before = (await status(c))["mediamtx"]["mediamtx_started"]
        mtx.restart()
        # (A check that read `started` just before the restart sees the path missing first.)
        restored = await until_note(c, lambda n: n["params"].get("reason") == "mediamtx_restarted")
        for _ in range(30):  # (the health report follows the check that announced it)
            after = (await status(c))["mediamtx"]
            if after["mediamtx_started"] != before:
                break
            await asyncio.sleep(0.1)
        mtx.proc.send_signal(signal.SIGKILL)
        mtx.proc.wait()
        for _ in range(40):
            if (await status(c))["mediamtx"]["circuit_breaker"] == "open":
                break
            await asyncio.sleep(0.1)
        opened = detailed()
        mtx.start()
        seen = []
        for _ in range(150):
            seen.append((await status(c))["mediamtx"])
            if seen[-1]["circuit_breaker"] == "closed":
                break
            await asyncio.sleep(0.05)
        return before, restored, after, opened, seen
    before, restored, after, opened, seen = asyncio.run(go())
    assert restored["method"] == "mediamtx_backend.paths_restored"
    assert restored["params"]["reason"] == "mediamtx_restarted" and restored["params"]["paths"] in (0, 1)
    assert after["circuit_breaker"] == "closed" and after["consecutive_openings"] == 0 and after["mediamtx_started"] != before
    assert "test_cam0" in configured(mtx)
    assert opened["status"] == "unhealthy" and opened["circuit_breaker"] == "open" and opened["last_error"] and opened["last_success"]
    states = [x["circuit_breaker"] for x in seen]
    assert "half_open" in states and states[-1] == "closed", states
    confirming = next(x for x in seen if x["circuit_breaker"] == "half_open")
    assert confirming["status"] == "degraded" and "confirming" in confirming["message"]


def test_a_hanging_mediamtx_slows_nobody_else(daemon_factory, mtx):
    if not mtx.is_standin:
        pytest.skip("hang mode is a stand-in control (/_stub/hang)")
    d = daemon_factory(plugins=[DEFAULT_PLUGINS[0], pattern_plugin(), backend_plugin(mtx, request_timeout=2)]).start()
    wait_for(lambda: "test_cam0" in configured(mtx), "the path to be added")
    assert mtx.request("POST", "/_stub/hang", json.dumps({"hang": True}).encode())[0] == 200

    async def go():
        slow = await Client.open(d.url, "viewer")
        fast = await Client.open(d.url, "viewer")
        pending = asyncio.ensure_future(slow.call("get_stream_status", {"device": "test_cam0"}))
        answered_meanwhile = 0
        while not pending.done():
            assert (await fast.call("ping"))["result"] == "pong"
            assert (await fast.call("get_camera_list"))["result"]["total"] == 1
            answered_meanwhile += 1
            await asyncio.sleep(0.02)  # (below the per-connection rate limit)
        first = pending.result()
        # Once the breaker is open, nothing waits at all: the call that says so was refused at once.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            r = await slow.call("get_stream_status", {"device": "test_cam0"})
            took = time.monotonic() - t0
            if "circuit open" in r.get("error", {}).get("data", {}).get("detail", ""):
                return answered_meanwhile, first, r, took
            await asyncio.sleep(0.1)
        raise AssertionError(f"the circuit never opened: {r}")
    try:
        answered, first, opened, took = asyncio.run(go())
    finally:
        mtx.request("POST", "/_stub/hang", json.dumps({"hang": False}).encode())
    assert answered > 5
    assert first["error"]["code"] == -32050 and "did not answer" in first["error"]["data"]["detail"]
    assert opened["error"]["code"] == -32050 and took < 1  # well under the 2 s request timeout


def keepers(daemon):
    """The daemon's keeper readers (what holds a started stream published)."""
    r = subprocess.run(["ps", "-ww", "-o", "args=", "--ppid", str(daemon.proc.pid)], capture_output=True, text=True)
    return [l for l in r.stdout.splitlines() if "camera-service-keeper" in l]


def test_stop_streaming_refused_while_the_circuit_is_open_keeps_the_stream_whole(media):
    """Refused with -32050 while MediaMTX hangs, stop_streaming changes nothing; once MediaMTX
    answers, it stops the stream for real and its keeper reader with it."""
    mtx = media.mtx
    if not mtx.is_standin:
        pytest.skip("hang mode is a stand-in control (/_stub/hang)")

    async def go():
        op = await Client.open(media.url, "operator")
        assert "result" in await op.call("start_streaming", {"device": "test_cam0"})
        assert len(keepers(media)) == 1
        mtx.request("POST", "/_stub/hang", json.dumps({"hang": True}).encode())
        for _ in range(60):  # (asked with a method that changes nothing)
            r = await op.call("get_stream_status", {"device": "test_cam0"})
            if "circuit open" in r.get("error", {}).get("data", {}).get("detail", ""):
                break
            await asyncio.sleep(0.1)
        refused = await op.call("stop_streaming", {"device": "test_cam0"})
        mtx.request("POST", "/_stub/hang", json.dumps({"hang": False}).encode())
        # Still held for its viewers: published again once MediaMTX answers (its paths re-applied).
        for _ in range(75):
            held = (await op.call("get_stream_status", {"device": "test_cam0"})).get("result", {})
            if held.get("status") == "ACTIVE":
                break
            await asyncio.sleep(0.2)
        assert held.get("status") == "ACTIVE", held
        for _ in range(60):
            stopped = await op.call("stop_streaming", {"device": "test_cam0"})
            if "result" in stopped:
                return refused, stopped
            await asyncio.sleep(0.2)
        raise AssertionError(f"stop_streaming never succeeded again: {stopped}")
    refused, stopped = asyncio.run(go())
    assert refused["error"]["code"] == -32050 and "circuit open" in refused["error"]["data"]["detail"]
    assert stopped["result"]["status"] == "STOPPED" and stopped["result"]["still_publishing"] is False
    wait_for(lambda: not keepers(media), "the keeper reader to stop", timeout=8)


def test_camera_status_and_metrics_do_not_wait_for_a_hanging_mediamtx(daemon_factory, mtx):
    """Stream figures are extras: while MediaMTX hangs (and its breaker, with a long timeout,
    has not opened yet), get_camera_status and get_metrics answer after a second without them."""
    if not mtx.is_standin:
        pytest.skip("hang mode is a stand-in control (/_stub/hang)")
    d = daemon_factory(plugins=[DEFAULT_PLUGINS[0], pattern_plugin(),
                                backend_plugin(mtx, request_timeout=5, failure_threshold=5)]).start()
    wait_for(lambda: "test_cam0" in configured(mtx), "the path to be added")

    async def go():
        c = await Client.open(d.url, "admin")
        healthy = (await c.call("get_camera_status", {"device": "test_cam0"}))["result"]
        mtx.request("POST", "/_stub/hang", json.dumps({"hang": True}).encode())
        try:
            t0 = time.monotonic()
            cam = (await c.call("get_camera_status", {"device": "test_cam0"}))["result"]
            t1 = time.monotonic()
            metrics = (await c.call("get_metrics"))["result"]
            t2 = time.monotonic()
        finally:
            mtx.request("POST", "/_stub/hang", json.dumps({"hang": False}).encode())
        return healthy, cam, t1 - t0, metrics, t2 - t1
    healthy, cam, cam_time, metrics, metrics_time = asyncio.run(go())
    assert "metrics" in healthy
    assert "metrics" not in cam and cam["device"] == "test_cam0" and cam_time < 2.5, cam_time
    assert "streams" not in metrics and metrics_time < 2.5, metrics_time


def test_a_moment_of_silence_from_mediamtx_does_not_fail_a_starting_stream(daemon_factory, mtx):
    """A poll MediaMTX leaves unanswered while a stream starts is not an outage: start_streaming
    waits on, and the circuit breaker (not one request) decides when MediaMTX is down."""
    if not mtx.is_standin:
        pytest.skip("hang mode is a stand-in control (/_stub/hang)")
    d = daemon_factory(plugins=[DEFAULT_PLUGINS[0], pattern_plugin(), backend_plugin(mtx, failure_threshold=10)]).start()
    wait_for(lambda: "test_cam0" in configured(mtx), "the path to be added")

    async def go():
        op = await Client.open(d.url, "operator")
        mtx.request("POST", "/_stub/hang", json.dumps({"hang": True}).encode())
        try:
            call = asyncio.ensure_future(op.call("start_streaming", {"device": "test_cam0"}))
            await asyncio.sleep(1.2)  # a few 0.5 s requests time out meanwhile
        finally:
            mtx.request("POST", "/_stub/hang", json.dumps({"hang": False}).encode())
        return await call
    started = asyncio.run(go())
    assert started.get("result", {}).get("status") == "STARTED", started


def test_every_request_matches_the_openapi_spec(media):
    async def go():
        op = await Client.open(media.url, "operator")
        await op.call("start_streaming", {"device": "test_cam0"})
        await op.call("get_streams")
        await op.call("stop_streaming", {"device": "test_cam0"})
    asyncio.run(go())
    if not media.mtx.is_standin:
        pytest.skip("the request log is a stand-in control (/_stub/requests)")
    requests = json.loads(media.mtx.request("GET", "/_stub/requests")[2])
    assert requests, "the daemon sent nothing"
    kinds = set()
    for r in requests:
        body = r["body"].encode() if r.get("body") else b""
        errors = openapi_check.validate_request(r["method"], r["path"], body)
        assert errors == [], (r, errors)
        kinds.add((r["method"], r["path"].split("?")[0].rsplit("/", 1)[0]))
    assert ("POST", "/v3/config/paths/add") in kinds and ("DELETE", "/v3/config/paths/delete") in kinds and ("GET", "/v3/paths/get") in kinds


FAKE = REPO / "Tests" / "FakeV4L2"
UVC = "card=HD USB Camera\nformats=YUYV:640x480@30|MJPG:1280x720@30\n"


def test_fake_v4l2_hot_plug_adds_and_removes_the_path(daemon_factory, mtx, tmp_path):
    subprocess.run(["make", "-s", "-C", str(FAKE)], check=True, capture_output=True)
    dev = tmp_path / "dev"
    dev.mkdir()
    plugins = [DEFAULT_PLUGINS[0], {"name": "v4l2_source", "library": "V4L2Source", "config": {"devices_dir": str(dev), "discovery": "inotify"}},
               backend_plugin(mtx)]
    d = daemon_factory(plugins=plugins, env={"LD_PRELOAD": str(FAKE / "libfakev4l2.so"), "FAKE_V4L2_DIR": str(dev)}).start()
    (dev / ".tmp").write_text(UVC)
    os.rename(dev / ".tmp", dev / "video0")
    wait_for(lambda: "camera0" in configured(mtx), "camera0's path")
    cmd = configured(mtx)["camera0"]["runOnDemand"]
    # The current format's size (YUYV 640x480; MJPG does not offer it), read once, by the publisher.
    assert f"-f v4l2 -input_format yuyv422 -video_size 640x480 -framerate 30 -i {dev}/video0" in cmd
    # Its formats change (a re-probe finds others): the path is replaced with the new input,
    # by a request MediaMTX's spec accepts.
    (dev / ".tmp").write_text("card=HD USB Camera\nformats=YUYV:320x240@15\n")
    os.rename(dev / ".tmp", dev / "video0")
    wait_for(lambda: "-video_size 320x240 -framerate 15" in configured(mtx).get("camera0", {}).get("runOnDemand", ""),
             "camera0's path to follow its new input")
    if mtx.is_standin:
        requests = json.loads(mtx.request("GET", "/_stub/requests")[2])
        replaced = [r for r in requests if r["method"] == "POST" and r["path"].startswith("/v3/config/paths/replace/camera0")]
        assert replaced and all(openapi_check.validate_request(r["method"], r["path"], r["body"].encode()) == [] for r in replaced)
    os.unlink(dev / "video0")
    wait_for(lambda: "camera0" not in configured(mtx), "camera0's path to go")
    assert d.proc.poll() is None
