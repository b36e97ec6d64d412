"""The capture engine through the running daemon: tiered snapshots (direct without a media
backend; started-stream and stream with the MediaMTX stand-in; the frame cache), recordings in
segments (duration, formats, no gap or overlap), and every fault of the capture issue leaving
a playable file, a notification naming the cause, and no orphaned FFmpeg. Files go to a fixture
storage provider here (the FileStore tests cover the store itself)."""
import asyncio
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from client import Client
from conftest import DEFAULT_PLUGINS, REPO, free_port, make_token, wait_for

sys.path.insert(0, str(REPO / "Tests" / "mediamtx"))
import mtx_server  # noqa: E402

CAMERA = {"name": "cam0", "resolution": "320x240", "fps": 15, "pattern": "testsrc"}


def pattern(*cams):
    return {"name": "test_pattern_source", "library": "TestPatternSource", "config": {"cameras": list(cams or [CAMERA])}}


def capture(**config):
    # The stand-in's relay is slower than MediaMTX to serve a new reader: generous stream timeouts.
    base = {"segment_duration": 2, "progress_interval": 0.5, "recording_start_timeout": 15, "stream_snapshot_timeout": 8,
            "started_snapshot_timeout": 20, "direct_snapshot_timeout": 15}
    base.update(config)
    return {"name": "ffmpeg_capture", "library": "FFmpegCapture", "config": base}


def storage(fixtures, root):
    return {"name": "fixture_storage", "library": str(fixtures / "libFixtureDirStorage.so"), "config": {"root": str(root)}}


def backend(mtx):
    return {"name": "mediamtx_backend", "library": "MediaMTXBackend",
            "config": {"api_url": f"http://127.0.0.1:{mtx.api_port}", "rtsp_port": mtx.rtsp_port, "health_interval": 0.3,
                       "request_timeout": 2, "start_timeout": 15, "max_backoff": 1, "failure_threshold": 3}}


@pytest.fixture
def store(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def direct(daemon_factory, fixtures, store):
    """Test-pattern camera, capture engine, fixture storage, no media backend: tier 3."""
    return daemon_factory(plugins=[DEFAULT_PLUGINS[0], pattern(), capture(), storage(fixtures, store)]).start()


@pytest.fixture
def mtx(tmp_path):
    m = mtx_server.MediaMTX(tmp_path / "mtx").start()
    yield m
    m.stop()


@pytest.fixture
def streamed(daemon_factory, fixtures, store, mtx):
    d = daemon_factory(plugins=[DEFAULT_PLUGINS[0], pattern(), backend(mtx), capture(), storage(fixtures, store)]).start()
    d.mtx = mtx
    return d


def probe(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries", "format=start_time,duration,format_name:stream=codec_name,width,height,nb_read_packets",
                        "-of", "json", str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (path, r.stderr)
    return json.loads(r.stdout)


def packet_span(path):
    """(first packet's time, last packet's end, packets) of a file's video stream."""
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0", str(path)],
                       capture_output=True, text=True, timeout=30)
    rows = [tuple(float(x) for x in line.split(",")[:2]) for line in r.stdout.split() if line]
    rows.sort()
    return rows[0][0], rows[-1][0] + rows[-1][1], len(rows)


def ffmpeg_children(daemon):
    r = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(daemon.proc.pid)], capture_output=True, text=True)
    return [l for l in r.stdout.splitlines() if "ffmpeg" in l]


def recording_files(store, device="test_cam0"):
    d = store / "recordings" / device
    return sorted(p for p in d.iterdir() if not p.name.startswith(".")) if d.exists() else []


async def until_note(c, method, timeout=20, **match):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = await c.note(max(0.1, deadline - time.monotonic()))
        if n.get("method") == method and all(n["params"].get(k) == v for k, v in match.items()):
            return n
    raise AssertionError(f"no {method} {match}")


# ------------------------------------------------------------------- what the daemon reports

def test_server_info_and_metrics_report_the_capture_engine(direct):
    """With FFmpegCapture loaded the formats are the engine's own (recordings, then snapshots)
    and recording figures are the engine's count; without a media backend there are none for
    streams."""
    async def go():
        admin = await Client.open(direct.url, "admin")
        info = (await admin.call("get_server_info"))["result"]
        idle = (await admin.call("get_metrics"))["result"]
        await admin.call("start_recording", {"device": "test_cam0", "format": "mkv"})
        busy = (await admin.call("get_metrics"))["result"]
        await admin.call("stop_recording", {"device": "test_cam0"})
        after = (await admin.call("get_metrics"))["result"]
        return info, idle, busy, after
    info, idle, busy, after = asyncio.run(go())
    assert info["supported_formats"] == ["fmp4", "mp4", "mkv", "jpg", "png"]
    assert {"snapshots", "recordings", "file_management"} <= set(info["capabilities"]) and "streaming" not in info["capabilities"]
    assert info["max_cameras"] == 1  # the one test-pattern camera configured
    assert (idle["recordings"], busy["recordings"], after["recordings"]) == ({"active": 0}, {"active": 1}, {"active": 0})
    assert "streams" not in idle and "streams" not in busy


# ---------------------------------------------------------------------------------- snapshots

def test_direct_snapshots_without_a_media_backend(direct, store):
    async def go():
        op = await Client.open(direct.url, "operator")
        await op.call("subscribe_events", {"topics": ["snapshot.taken"]})
        jpg = (await op.call("take_snapshot", {"device": "test_cam0"}))["result"]
        note = await op.note(5)
        png = (await op.call("take_snapshot", {"device": "test_cam0", "format": "png", "filename": "front"}))["result"]
        low = (await op.call("take_snapshot", {"device": "test_cam0", "quality": 5}))["result"]
        high = (await op.call("take_snapshot", {"device": "test_cam0", "quality": 100}))["result"]
        again = await op.call("take_snapshot", {"device": "test_cam0", "format": "png", "filename": "front.png"})
        bad = await op.call("take_snapshot", {"device": "test_cam0", "filename": "../escape"})
        unknown = await op.call("take_snapshot", {"device": "no_such_cam"})
        viewer = await Client.open(direct.url, "viewer")
        denied = await viewer.call("take_snapshot", {"device": "test_cam0"})
        return jpg, note, png, low, high, again, bad, unknown, denied
    jpg, note, png, low, high, again, bad, unknown, denied = asyncio.run(go())
    assert jpg["status"] == "SUCCESS" and jpg["tier"] == 3 and jpg["frame_age_ms"] >= 0 and jpg["resolution"] == "320x240"
    name = jpg["filename"]
    assert name.startswith("test_cam0_") and name.endswith(".jpg") and jpg["file_path"] == str(store / "snapshots" / "test_cam0" / name)
    assert probe(jpg["file_path"])["streams"][0]["codec_name"] == "mjpeg" and os.path.getsize(jpg["file_path"]) == jpg["file_size"]
    assert note["method"] == "snapshot.taken" and note["params"]["filename"] == name and note["params"]["tier"] == 3
    assert png["filename"] == "front.png" and probe(png["file_path"])["streams"][0]["codec_name"] == "png"
    assert low["file_size"] < high["file_size"]  # quality honoured
    assert again["error"]["code"] == -32020 and again["error"]["data"]["state"] == "exists"
    assert bad["error"]["code"] == -32602 and bad["error"]["data"]["rule"] == "unsafe_name"
    assert unknown["error"]["code"] == -32010
    assert denied["error"]["code"] == -32002
    assert not list((store / "snapshots" / "test_cam0").glob(".*"))  # no part files left


def test_snapshot_tiers_with_a_media_backend_and_the_cache(streamed):
    async def go():
        op = await Client.open(streamed.url, "operator")
        first = (await op.call("take_snapshot", {"device": "test_cam0"}))["result"]  # stream not up: started (tier 2)
        times, results = [], []
        for _ in range(5):
            t0 = time.monotonic()
            results.append((await op.call("take_snapshot", {"device": "test_cam0"}))["result"])
            times.append(time.monotonic() - t0)
        png = (await op.call("take_snapshot", {"device": "test_cam0", "format": "png"}))["result"]
        return first, results, times, png
    first, results, times, png = asyncio.run(go())
    assert first["tier"] == 2 and first["resolution"] == "320x240"
    # The stream is up now and the frame cache holds its latest frame: tier 1, from memory.
    assert all(r["tier"] == 1 for r in results)
    assert all(0 <= r["frame_age_ms"] < 2500 for r in results)
    assert sorted(times)[2] < 0.5, times  # served from memory, not by a new reader waiting for a keyframe
    assert png["tier"] == 1 and probe(png["file_path"])["streams"][0]["codec_name"] == "png"
    # One reader of the device only: the publisher MediaMTX runs (the cache reads the stream).
    hooks = json.loads(streamed.mtx.request("GET", "/_stub/hooks")[2])
    assert len([h for h in hooks if h["kind"] == "runOnDemand" and h["running"]]) == 1


def test_uncached_tier_one(daemon_factory, fixtures, store, mtx):
    d = daemon_factory(plugins=[DEFAULT_PLUGINS[0], pattern(), backend(mtx), capture(snapshot_cache=False), storage(fixtures, store)]).start()

    async def go():
        op = await Client.open(d.url, "operator")
        await op.call("start_streaming", {"device": "test_cam0"})
        return [(await op.call("take_snapshot", {"device": "test_cam0"}))["result"] for _ in range(2)]
    shots = asyncio.run(go())
    assert [s["tier"] for s in shots] == [1, 1] and all(probe(s["file_path"])["streams"][0]["width"] == 320 for s in shots)


def test_a_backend_that_is_down_means_direct_snapshots(daemon_factory, fixtures, store):
    """Tier 3 when the media backend is loaded but MediaMTX is not there: first while its breaker
    still lets requests try (the stream cannot start, the camera is read directly instead), then
    with the circuit open (straight to the camera)."""
    nobody = free_port()  # a port with no MediaMTX behind it
    dead = {"name": "mediamtx_backend", "library": "MediaMTXBackend",
            "config": {"api_url": f"http://127.0.0.1:{nobody}", "rtsp_port": nobody, "health_interval": 0.3,
                       "request_timeout": 0.5, "start_timeout": 30, "max_backoff": 30, "failure_threshold": 2}}
    d = daemon_factory(plugins=[DEFAULT_PLUGINS[0], pattern(), dead, capture(), storage(fixtures, store)]).start()

    async def go():
        op = await Client.open(d.url, "operator")
        admin = await Client.open(d.url, "admin")
        first = (await op.call("take_snapshot", {"device": "test_cam0"}))["result"]
        for _ in range(100):
            if (await admin.call("get_status"))["result"]["components"]["mediamtx"]["circuit_breaker"] == "open":
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the circuit never opened")
        t0 = time.monotonic()
        second = (await op.call("take_snapshot", {"device": "test_cam0"}))["result"]
        return first, second, time.monotonic() - t0
    first, second, took = asyncio.run(go())
    assert first["tier"] == 3 and second["tier"] == 3
    assert probe(second["file_path"])["streams"][0]["width"] == 320
    assert took < 15, took  # no wait for a stream that cannot come (start_timeout 30 s)


def test_the_frame_cache_reader_stops_when_nobody_asks(daemon_factory, fixtures, store, mtx):
    d = daemon_factory(plugins=[DEFAULT_PLUGINS[0], pattern(), backend(mtx), capture(cache_idle=1), storage(fixtures, store)]).start()

    def cache_readers():
        return [l for l in ffmpeg_children(d) if "image2pipe" in l]

    async def go():
        op = await Client.open(d.url, "operator")
        admin = await Client.open(d.url, "admin")
        for _ in range(150):  # MediaMTX known to the backend: the first snapshot starts the stream
            if (await admin.call("get_status"))["result"]["components"]["mediamtx"]["status"] == "healthy":
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("MediaMTX never reported healthy")
        shots = [(await op.call("take_snapshot", {"device": "test_cam0"}))["result"] for _ in range(3)]
        return shots, len(cache_readers())
    shots, running = asyncio.run(go())
    assert [s["tier"] for s in shots] == [2, 1, 1] and running == 1
    # cache_idle 1 s (the reaper looks every 2 s), then the reader is stopped.
    wait_for(lambda: cache_readers() == [], "the idle frame cache reader to stop", timeout=15)


def test_snapshots_wait_their_turn(daemon_factory, fixtures, store):
    d = daemon_factory(plugins=[DEFAULT_PLUGINS[0], pattern(), capture(max_concurrent_snapshots=1, direct_snapshot_timeout=20),
                                storage(fixtures, store)]).start()

    async def go():
        clients = [await Client.open(d.url, "operator") for _ in range(3)]
        calls = asyncio.gather(*(c.call("take_snapshot", {"device": "test_cam0"}) for c in clients))
        most = 0
        while not calls.done():  # how many snapshot FFmpegs run at once
            shots = await asyncio.to_thread(lambda: [l for l in ffmpeg_children(d) if "-update 1" in l])
            most = max(most, len(shots))
            await asyncio.sleep(0.02)
        return await calls, most
    replies, most = asyncio.run(go())
    assert all(r["result"]["tier"] == 3 for r in replies), replies
    assert most == 1  # three requests, max_concurrent_snapshots 1: one at a time, each in its turn
    # When the turn does not come within the timeout, the request says why.
    d2 = daemon_factory(plugins=[DEFAULT_PLUGINS[0], pattern(), capture(max_concurrent_snapshots=1, direct_snapshot_timeout=0.3, direct_skip_frames=30),
                                 storage(fixtures, store)]).start()

    async def crowd():
        clients = [await Client.open(d2.url, "operator") for _ in range(3)]
        return await asyncio.gather(*(c.call("take_snapshot", {"device": "test_cam0"}) for c in clients))
    replies = asyncio.run(crowd())
    errors = [r["error"] for r in replies if "error" in r]
    assert errors and all(e["code"] == -32050 for e in errors)
    assert any("already running" in e["data"]["detail"] or "no frame within" in e["data"]["detail"] for e in errors)


# --------------------------------------------------------------------------------- recordings

def test_recording_in_segments_with_a_duration(direct, store):
    async def go():
        op = await Client.open(direct.url, "operator")
        await op.call("subscribe_events", {"topics": ["recording.start", "recording.stop", "recording.progress"]})
        started = (await op.call("start_recording", {"device": "test_cam0", "duration": 5, "format": "mkv"}))["result"]
        twice = await op.call("start_recording", {"device": "test_cam0"})
        legacy_start = await until_note(op, "recording_status_update", status="STARTED")
        progress = await until_note(op, "recording.progress")
        progress_at = time.monotonic()
        later = await until_note(op, "recording.progress")
        interval = time.monotonic() - progress_at
        stop = await until_note(op, "recording.stop", timeout=30)
        legacy_stop = await until_note(op, "recording_status_update", status="STOPPED")
        idle = await op.call("stop_recording", {"device": "test_cam0"})
        notes = (await op.call("fixture_storage.notes"))["result"]
        return started, twice, legacy_start, (progress, later, interval), stop, legacy_stop, idle, notes
    started, twice, legacy_start, (progress, later, interval), stop, legacy_stop, idle, notes = asyncio.run(go())
    assert started["status"] == "RECORDING" and started["format"] == "mkv" and started["duration"] == 5
    assert twice["error"]["code"] == -32020 and twice["error"]["data"]["state"] == "RECORDING"
    assert legacy_start["params"]["filename"] == started["filename"]
    assert progress["params"]["bytes"] > 0 and progress["params"]["current_file"].endswith(".mkv")
    # Every progress_interval (0.5 s here), figures that grow.
    assert 0.3 < interval < 3, interval
    assert later["params"]["seconds"] > progress["params"]["seconds"] >= 0 and later["params"]["bytes"] >= progress["params"]["bytes"]
    assert stop["params"]["cause"] == "duration_reached" and stop["params"]["status"] == "STOPPED"
    assert legacy_stop["params"]["cause"] == "duration_reached"
    assert idle["error"]["code"] == -32020 and idle["error"]["data"]["state"] == "IDLE"
    files = recording_files(store)
    assert [f.name for f in files] == stop["params"]["files"] and len(files) == 3
    spans = [packet_span(f) for f in files]
    # Consecutive segments: each starts where the one before ended (Matroska keeps the stream's
    # timestamps); together exactly the 5 s, every frame once.
    for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
        assert abs(end - start) < 0.5 / 15, spans
    assert abs(spans[-1][1] - spans[0][0] - 5) < 0.1 and sum(n for _, _, n in spans) == 5 * 15, spans
    # The storage provider was told which files were being written, then complete.
    paths = [str(f) for f in files]
    assert [n["path"] for n in notes if n["event"] == "started"] == paths
    assert set(paths) <= {n["path"] for n in notes if n["event"] == "finished"}


@pytest.mark.parametrize("fmt", ["fmp4", "mp4"])
def test_mp4_formats(direct, store, fmt):
    async def go():
        op = await Client.open(direct.url, "operator")
        await op.call("start_recording", {"device": "test_cam0", "format": fmt})
        await asyncio.sleep(3)
        return (await op.call("stop_recording", {"device": "test_cam0"}))["result"]
    stopped = asyncio.run(go())
    assert stopped["status"] == "STOPPED" and stopped["format"] == fmt and stopped["file_size"] > 0
    files = recording_files(store)
    assert len(files) >= 1 and all(f.suffix == ".mp4" for f in files)
    data = files[0].read_bytes()
    moov, mdat, moof = data.find(b"moov"), data.find(b"mdat"), data.find(b"moof")
    if fmt == "fmp4":
        assert moof > 0  # fragmented: playable while it is written
    else:
        assert moof == -1 and 0 < moov < mdat  # progressive, index first (faststart)
        # Made progressive once: two rewrites of one file (its list line, then the end of the
        # recording) raced on its hidden copy and could leave it without an index.
        rewrites = [l["msg"] for l in direct.log_lines() if l.get("msg", "").startswith("started finish ")]
        assert sorted(m.split()[2] for m in rewrites) == sorted(f.name for f in files), rewrites
    assert all(probe(f)["streams"][0]["codec_name"] == "h264" for f in files)


# --------------------------------------------------------------------------------------- faults

def test_cameras_list_their_recording_in_progress(direct, store):
    # A client that connects mid-recording (a console page load) sees it on the camera.
    async def go():
        op = await Client.open(direct.url, "operator")
        await op.call("subscribe_events", {"topics": ["recording.stop"]})
        started = (await op.call("start_recording", {"device": "test_cam0", "duration": 30}))["result"]
        viewer = await Client.open(direct.url, "viewer")
        listed = {c["device"]: c for c in (await viewer.call("get_camera_list"))["result"]["cameras"]}
        status = (await viewer.call("get_camera_status", {"device": "test_cam0"}))["result"]
        await op.call("stop_recording", {"device": "test_cam0"})
        await until_note(op, "recording.stop")
        after = (await viewer.call("get_camera_status", {"device": "test_cam0"}))["result"]
        return started, listed, status, after
    started, listed, status, after = asyncio.run(go())
    rec = listed["test_cam0"]["recording"]
    assert rec["filename"] == started["filename"] and rec["format"] == started["format"] and rec["duration"] == 30
    assert rec["start_time"] == started["start_time"]
    assert all(c["recording"] is None for d, c in listed.items() if d != "test_cam0")
    assert status["recording"] == rec and after["recording"] is None


@pytest.mark.parametrize("fmt", ["mkv", "mp4"])
def test_ffmpeg_killed_mid_recording(direct, store, fmt):
    """Matroska gets its index rewritten; MP4 is written fragmented (a fragment per keyframe, 1 s),
    so a writer killed half-way leaves a playable file too. At most the last second is lost."""
    async def go():
        op = await Client.open(direct.url, "operator")
        await op.call("subscribe_events", {"topics": ["recording.stop", "recording.error"]})
        await op.call("start_recording", {"device": "test_cam0", "format": fmt})
        await asyncio.sleep(5)
        pids = [int(l.split()[0]) for l in ffmpeg_children(direct) if "segment" in l]
        assert len(pids) == 1
        os.kill(pids[0], signal.SIGKILL)
        return await until_note(op, "recording.error"), await until_note(op, "recording_status_update", status="ERROR")
    error, legacy = asyncio.run(go())
    assert error["params"]["cause"] == "process_failed" and "signal 9" in error["params"]["detail"]
    assert legacy["params"]["cause"] == "process_failed"
    files = recording_files(store)
    assert files and all(f.suffix == "." + fmt for f in files)
    for f in files:
        p = probe(f)
        assert int(p["streams"][0]["nb_read_packets"]) > 0 and float(p["format"]["duration"]) > 0  # an index, a duration
    # 5 s at 15 fps were recorded: all but the last unflushed second (and a margin) is there.
    packets = sum(packet_span(f)[2] for f in files)
    assert packets >= 30, (packets, files)  # 75 written, at most a keyframe interval (15) not flushed
    assert ffmpeg_children(direct) == []


def test_sigterm_ends_the_recording_cleanly_and_says_so(direct, store):
    async def go():
        op = await Client.open(direct.url, "operator")
        await op.call("start_recording", {"device": "test_cam0", "format": "fmp4"})
        await asyncio.sleep(2.5)
        direct.proc.send_signal(signal.SIGTERM)
        return await until_note(op, "recording_status_update", status="STOPPED")
    legacy = asyncio.run(go())
    assert legacy["params"]["cause"] == "shutdown"
    assert direct.wait_exit() == 0
    files = recording_files(store)
    assert files and all(int(probe(f)["streams"][0]["nb_read_packets"]) > 0 for f in files)
    out = subprocess.run(["pgrep", "-f", str(store)], capture_output=True, text=True).stdout
    assert out.strip() == ""  # no FFmpeg left writing into the store


def test_storage_full_refuses_and_ends_recordings(direct, store):
    async def go():
        op = await Client.open(direct.url, "operator")
        await op.call("subscribe_events", {"topics": ["storage.warning", "recording.stop"]})
        await op.call("start_recording", {"device": "test_cam0"})
        await asyncio.sleep(2)
        await op.call("fixture_storage.set_level", {"level": "critical", "usage": 95})
        warning = await until_note(op, "storage.warning")
        stop = await until_note(op, "recording.stop")
        refused = await op.call("start_recording", {"device": "test_cam0"})
        snapshot = await op.call("take_snapshot", {"device": "test_cam0"})
        return warning, stop, refused, snapshot
    warning, stop, refused, snapshot = asyncio.run(go())
    assert warning["params"]["level"] == "critical" and warning["params"]["critical_space_warning"] is True
    assert stop["params"]["cause"] == "storage_full" and stop["params"]["status"] == "ERROR"
    assert refused["error"]["code"] == -32060 and refused["error"]["data"]["usage_percentage"] == 95
    assert snapshot["error"]["code"] == -32060
    assert all(int(probe(f)["streams"][0]["nb_read_packets"]) > 0 for f in recording_files(store))


def test_stop_streaming_leaves_a_recordings_stream_published(streamed, store):
    async def go():
        op = await Client.open(streamed.url, "operator")
        await op.call("start_recording", {"device": "test_cam0", "format": "mkv"})
        stopped = (await op.call("stop_streaming", {"device": "test_cam0"}))["result"]
        await asyncio.sleep(2)
        status = (await op.call("get_stream_status", {"device": "test_cam0"}))["result"]
        recording = (await op.call("get_camera_status", {"device": "test_cam0"}))["result"]["recording"]
        ended = (await op.call("stop_recording", {"device": "test_cam0"}))["result"]
        return stopped, status, recording, ended
    stopped, status, recording, ended = asyncio.run(go())
    assert stopped["still_publishing"] is True and "recording" in stopped["message"]
    assert status["status"] == "ACTIVE" and status["ready"] is True and recording is not None
    assert ended["status"] == "STOPPED"
    files = recording_files(store)
    assert files and sum(packet_span(f)[2] for f in files) >= 15  # recorded on, unbroken by the stop


def test_media_backend_failing_mid_recording(streamed, store):
    """MediaMTX killed mid-recording ends it (ERROR, media_backend_failed) with playable files;
    restarted, it serves a new recording."""
    mtx = streamed.mtx

    async def go():
        op = await Client.open(streamed.url, "operator")
        await op.call("subscribe_events", {"topics": ["recording.stop"]})
        started = (await op.call("start_recording", {"device": "test_cam0", "format": "fmp4"}))["result"]
        await asyncio.sleep(3)
        mtx.proc.send_signal(signal.SIGKILL)
        mtx.proc.wait()
        subprocess.run(["pkill", "-f", f"rtsp://127.0.0.1:{mtx.publish_port}/"], capture_output=True)  # its publisher goes with it
        stop = await until_note(op, "recording.stop", timeout=30)
        left = [l for l in ffmpeg_children(streamed) if "segment" in l]
        # MediaMTX comes back (same ports, empty configuration): the path is restored and a
        # new recording reads the stream again.
        before = set(recording_files(store))
        mtx.start()
        again = None
        for _ in range(100):
            again = await op.call("start_recording", {"device": "test_cam0", "format": "fmp4"})
            if "result" in again:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.5)
        ended = await op.call("stop_recording", {"device": "test_cam0"})
        return started, stop, left, again, ended, sorted(set(recording_files(store)) - before)
    started, stop, left, again, ended, new_files = asyncio.run(go())
    # From the stream the first file opens only with the first keyframe: the start time is then,
    # the second the file's name carries (read a moment after FFmpeg opened it).
    stamp = datetime.datetime.strptime(started["filename"][len("test_cam0_"):-len(".mp4")], "%Y-%m-%d_%H-%M-%S").replace(tzinfo=datetime.timezone.utc)
    start = datetime.datetime.fromisoformat(started["start_time"].replace("Z", "+00:00"))
    assert 0 <= (start - stamp).total_seconds() < 3, (started["filename"], started["start_time"])
    assert stop["params"]["cause"] == "media_backend_failed" and stop["params"]["status"] == "ERROR"
    files = recording_files(store)
    assert files and all(probe(f)["streams"][0]["codec_name"] == "h264" for f in files)
    assert left == []  # the recorder ended with the stream
    assert "result" in again and again["result"]["status"] == "RECORDING", again
    assert ended["result"]["status"] == "STOPPED" and new_files
    assert all(int(probe(f)["streams"][0]["nb_read_packets"]) > 0 for f in new_files)


FAKE = REPO / "Tests" / "FakeV4L2"
UVC = "card=HD USB Camera\nformats=YUYV:320x240@15\n"


def test_camera_unplugged_mid_recording(daemon_factory, fixtures, store, tmp_path):
    subprocess.run(["make", "-s", "-C", str(FAKE)], check=True, capture_output=True)
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "video0").write_text(UVC)
    plugins = [DEFAULT_PLUGINS[0], {"name": "v4l2_source", "library": "V4L2Source", "config": {"devices_dir": str(dev), "discovery": "inotify"}},
               capture(), storage(fixtures, store)]
    d = daemon_factory(plugins=plugins, env={"LD_PRELOAD": str(FAKE / "libfakev4l2.so"), "FAKE_V4L2_DIR": str(dev)}).start()

    async def go():
        op = await Client.open(d.url, "operator")
        await op.call("subscribe_events", {"topics": ["recording.stop"]})
        started = (await op.call("start_recording", {"device": "camera0", "format": "mkv"}))
        assert "result" in started, started
        await asyncio.sleep(3)
        os.unlink(dev / "video0")
        return await until_note(op, "recording.stop", timeout=30)
    stop = asyncio.run(go())
    assert stop["params"]["cause"] == "camera_disconnected" and stop["params"]["status"] == "ERROR"
    files = recording_files(store, "camera0")
    assert files and all(int(probe(f)["streams"][0]["nb_read_packets"]) > 0 for f in files)
    assert ffmpeg_children(d) == []


def test_a_v4l2_camera_is_read_once_by_the_publisher(daemon_factory, fixtures, store, tmp_path):
    """With a media backend up, the publisher MediaMTX runs is the device's one reader: snapshots
    and recordings of a V4L2 camera read the stream, and no FFmpeg of the daemon opens the
    device (the fake camera serves the stand-in's publisher and the daemon alike)."""
    subprocess.run(["make", "-s", "-C", str(FAKE)], check=True, capture_output=True)
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "video0").write_text(UVC)
    fake = {"LD_PRELOAD": str(FAKE / "libfakev4l2.so"), "FAKE_V4L2_DIR": str(dev)}
    mtx = mtx_server.MediaMTX(tmp_path / "mtx", env=fake).start()
    try:
        plugins = [DEFAULT_PLUGINS[0], {"name": "v4l2_source", "library": "V4L2Source", "config": {"devices_dir": str(dev), "discovery": "inotify"}},
                   backend(mtx), capture(), storage(fixtures, store)]
        d = daemon_factory(plugins=plugins, env=fake).start()
        device_readers = []

        def watch():
            device_readers.extend(l for l in ffmpeg_children(d) if str(dev / "video0") in l)

        async def go():
            op = await Client.open(d.url, "operator")
            for _ in range(100):
                cams = (await op.call("get_camera_list"))["result"]["cameras"]
                if cams and cams[0]["status"] == "CONNECTED" and "camera0" in configured_paths(mtx):
                    break
                await asyncio.sleep(0.1)
            started = await op.call("start_streaming", {"device": "camera0"})
            assert "result" in started, started
            shots = []
            for _ in range(3):
                shots.append((await op.call("take_snapshot", {"device": "camera0"}))["result"])
                watch()
            rec = await op.call("start_recording", {"device": "camera0", "format": "mkv"})
            await asyncio.sleep(2.5)
            watch()
            await op.call("stop_recording", {"device": "camera0"})
            return shots, rec
        shots, rec = asyncio.run(go())
        assert [s["tier"] for s in shots] == [1, 1, 1], shots
        assert probe(shots[0]["file_path"])["streams"][0]["width"] == 320
        assert "result" in rec and device_readers == []
        files = recording_files(store, "camera0")
        assert files and all(probe(f)["streams"][0]["codec_name"] == "h264" for f in files)  # the stream, copied
        hooks = json.loads(mtx.request("GET", "/_stub/hooks")[2])
        publishers = [h for h in hooks if h["kind"] == "runOnDemand" and h.get("path") == "camera0"]
        assert publishers and str(dev / "video0") in publishers[0]["argv"]
    finally:
        mtx.stop()


def configured_paths(mtx):
    status, _, body = mtx.request("GET", "/v3/config/paths/list?itemsPerPage=1000")
    return {i["name"] for i in json.loads(body)["items"]} if status == 200 else set()
