"""The V4L2Source plugin's real ioctl and hot-plug code, run against the fake V4L2 device
(Tests/FakeV4L2, LD_PRELOAD on the daemon only): discovery, capabilities, metadata nodes,
wedged and failing devices, hot-plug events to subscribed clients, and the merged camera list."""
import asyncio
import json
import os
import subprocess
import time

import pytest
import websockets

from conftest import DEFAULT_PLUGINS, REPO, make_token, rpc_message

FAKE = REPO / "Tests" / "FakeV4L2"
UVC = ("card=HD USB Camera\nbus_info=usb-0000:00:14.0-1\n"
       "formats=YUYV:640x480@30,15;1280x720@10|MJPG:640x480@30;1280x720@30,15;1920x1080@30\n")


@pytest.fixture(scope="session")
def fake_lib():
    subprocess.run(["make", "-s", "-C", str(FAKE)], check=True, capture_output=True)
    return FAKE / "libfakev4l2.so"


def plug(dev, index, content):
    """Writes a node under a temporary name, then renames it in (what inotify watchers need)."""
    tmp = dev / f".tmp-video{index}"
    tmp.write_text(content)
    os.rename(tmp, dev / f"video{index}")


@pytest.fixture
def cams(daemon_factory, fake_lib, tmp_path):
    def start(nodes, plugins_extra=(), discovery="inotify", **v4l2):
        dev = tmp_path / "dev"
        dev.mkdir(exist_ok=True)
        for index, content in nodes.items():
            (dev / f"video{index}").write_text(content)
        config = {"devices_dir": str(dev), "discovery": discovery, "probe_timeout": 0.5}
        config.update(v4l2)
        plugins = [DEFAULT_PLUGINS[0], {"name": "v4l2_source", "library": "V4L2Source", "config": config}, *plugins_extra]
        d = daemon_factory(plugins=plugins, env={"LD_PRELOAD": str(fake_lib), "FAKE_V4L2_DIR": str(dev)}).start()
        d.dev = dev
        return d
    return start


async def client(d, role="viewer"):
    ws = await websockets.connect(d.url, max_size=None)
    await ws.send(rpc_message("authenticate", {"auth_token": make_token(role)}, id=0))
    assert "result" in json.loads(await ws.recv())
    return ws


async def call(ws, method, params=None):
    await ws.send(rpc_message(method, params, id=7))
    while True:
        m = json.loads(await ws.recv())
        if m.get("id") == 7:
            return m


async def next_event(ws, method, timeout=3):
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if m.get("method") == method:
            return m["params"]


def test_discovery_and_capabilities(cams):
    d = cams({0: UVC, 1: "kind=metadata\n"})

    async def go():
        ws = await client(d)
        return (await call(ws, "get_camera_list"))["result"], (await call(ws, "get_camera_capabilities", {"device": "camera0"}))["result"], \
               (await call(ws, "get_camera_status", {"device": "camera0"}))["result"], (await call(ws, "get_camera_status", {"device": "camera1"}))
    lst, caps, status, meta = asyncio.run(go())
    assert lst["total"] == 1 and lst["connected"] == 1  # the metadata node is not a camera
    cam = lst["cameras"][0]
    assert cam == {"device": "camera0", "status": "CONNECTED", "name": "HD USB Camera", "resolution": "640x480", "fps": 30, "streams": {},
                   "recording": None}
    assert caps == {"device": "camera0", "formats": ["YUYV", "MJPG"], "resolutions": ["1920x1080", "1280x720", "640x480"],
                    "fps_options": [30, 15, 10], "frame_rates": ["30", "15", "10"], "capabilities": ["video_capture", "streaming"],
                    "validation_status": "confirmed"}
    assert status["capabilities"]["formats"] == ["YUYV", "MJPG"]
    # No media backend here: there are no stream figures, and none are made up.
    assert "metrics" not in status
    assert meta["error"]["code"] == -32010
    assert "/dev" not in json.dumps(lst) and str(d.dev) not in json.dumps([lst, caps, status])  # clients never see paths


def test_hotplug_events_reach_subscribers(cams):
    d = cams({0: UVC})

    async def go():
        ws = await client(d)
        await call(ws, "subscribe_events", {"topics": ["camera.connected", "camera.disconnected", "camera.status_change"]})
        plug(d.dev, 4, "card=Second Cam\nformats=MJPG:1280x720@30,15\n")
        connected = await next_event(ws, "camera.connected")
        listed = (await call(ws, "get_camera_list"))["result"]
        os.remove(d.dev / "video4")
        gone = await next_event(ws, "camera.disconnected")
        after = (await call(ws, "get_camera_capabilities", {"device": "camera4"}))["result"]
        plug(d.dev, 4, "card=Second Cam\nformats=MJPG:1280x720@30,15\n")
        back = await next_event(ws, "camera.connected")
        return connected, listed, gone, after, back
    connected, listed, gone, after, back = asyncio.run(go())
    assert connected["device"] == "camera4" and connected["status"] == "CONNECTED" and connected["name"] == "Second Cam"
    assert connected["resolution"] == "1280x720" and isinstance(connected["seq"], int)
    assert listed["total"] == 2 and listed["connected"] == 2
    assert gone["device"] == "camera4" and gone["status"] == "DISCONNECTED" and gone["previous_status"] == "CONNECTED"
    assert after["validation_status"] == "disconnected" and after["formats"] == []
    assert back["device"] == "camera4" and back["status"] == "CONNECTED" and back["seq"] > gone["seq"]


def test_legacy_notification_on_hotplug(cams):
    d = cams({})

    async def go():
        ws = await client(d)  # authenticated, not subscribed
        plug(d.dev, 2, UVC)
        return await next_event(ws, "camera_status_update")
    e = asyncio.run(go())
    assert e["device"] == "camera2" and e["status"] == "CONNECTED" and set(e) >= {"name", "resolution", "fps", "streams"}


def test_wedged_device_is_error_and_never_blocks_the_others(cams):
    d = cams({0: UVC, 1: "card=Stuck\nwedge=1\n", 2: "card=Broken\nfail=EIO\n"})

    async def go():
        ws = await client(d)
        return (await call(ws, "get_camera_list"))["result"]
    lst = asyncio.run(go())
    by = {c["device"]: c for c in lst["cameras"]}
    assert by["camera0"]["status"] == "CONNECTED"
    assert by["camera1"]["status"] == "ERROR"
    assert by["camera2"]["status"] == "ERROR"
    assert any("did not answer within 0.5 s" in l.get("msg", "") for l in d.log_lines())


def test_poll_discovery_finds_new_devices(cams):
    d = cams({}, discovery="poll", rescan_interval=0.2)

    async def go():
        ws = await client(d)
        await call(ws, "subscribe_events", {"topics": ["camera.connected", "camera.disconnected"]})
        plug(d.dev, 7, UVC)
        c = await next_event(ws, "camera.connected")
        os.remove(d.dev / "video7")
        g = await next_event(ws, "camera.disconnected")
        return c, g
    c, g = asyncio.run(go())
    assert c["device"] == "camera7" and g["device"] == "camera7"


def test_v4l2_and_test_pattern_cameras_form_one_list(cams):
    d = cams({3: UVC}, plugins_extra=[{"name": "test_pattern_source", "library": "TestPatternSource"}])

    async def go():
        ws = await client(d)
        return (await call(ws, "get_camera_list"))["result"]
    lst = asyncio.run(go())
    assert [c["device"] for c in lst["cameras"]] == ["camera3", "test_cam0", "test_cam1"]


def test_device_range_and_missing_directory(daemon_factory, fake_lib, tmp_path):
    plugins = [DEFAULT_PLUGINS[0], {"name": "v4l2_source", "library": "V4L2Source",
                                    "config": {"devices_dir": str(tmp_path / "nope"), "discovery": "inotify"}}]
    d = daemon_factory(plugins=plugins).start()

    async def go():
        ws = await client(d)
        return (await call(ws, "get_camera_list"))["result"]
    assert asyncio.run(go())["total"] == 0
    assert any("does not exist" in l.get("msg", "") for l in d.log_lines())
    bad = daemon_factory(plugins=[DEFAULT_PLUGINS[0], {"name": "v4l2_source", "library": "V4L2Source", "required": True,
                                                        "config": {"device_range": "9-3"}}])
    bad.expect_end(exit_code=2).start(wait=False)
    assert bad.wait_exit() == 2 and "device_range" in bad.log_text()


# --- failure paths, with the fake device's own knobs (busy=, fail=, delay_ms=, wedge=) ------

def rewrite_in_place(path, content):
    """Rewrites a node without the events a watcher sees (no truncation, no close): only the
    source's own retries can notice. Same length as before; returns the fd to close later."""
    fd = os.open(path, os.O_WRONLY)
    assert len(content) == os.fstat(fd).st_size
    os.write(fd, content.encode())
    return fd


async def closed(ws, result):
    """Closes the client before the test ends (the daemon then stops without waiting for it)."""
    await ws.close()
    return result


async def events_until(ws, device, status, topics=("camera.connected", "camera.status_change"), timeout=5):
    """Every event for `device` up to and including the first with `status`."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            m = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        except asyncio.TimeoutError:
            raise AssertionError(f"{device} not {status} within {timeout} s; events seen: {seen}") from None
        if m.get("method") in topics and m["params"]["device"] == device:
            seen.append((m["method"], m["params"]["status"]))
            if m["params"]["status"] == status:
                return seen, m["params"]


def test_a_busy_device_that_frees_up_during_the_retries_connects(cams):
    # busy=1 (another program streams from it) does not stop a camera being listed: the probe
    # negotiates nothing. fail=EBUSY (the node itself refuses to open) is retried.
    d = cams({0: UVC + "busy=1\n"})

    async def go():
        ws = await client(d)
        listed = (await call(ws, "get_camera_list"))["result"]["cameras"]
        await call(ws, "subscribe_events", {"topics": ["camera.connected", "camera.status_change"]})
        plug(d.dev, 2, "card=Busy Cam\nfail=EBUSY\n")
        await asyncio.sleep(0.4)  # two or three refused opens, 200 ms apart
        fd = rewrite_in_place(d.dev / "video2", "card=Busy Cam\n#ail=EBUSY\n")
        try:
            return await closed(ws, (listed, await events_until(ws, "camera2", "CONNECTED")))
        finally:
            os.close(fd)
    listed, (seen, cam) = asyncio.run(go())
    assert [(c["device"], c["status"]) for c in listed] == [("camera0", "CONNECTED")]
    assert seen == [("camera.connected", "CONNECTED")]  # never ERROR on the way
    assert cam["name"] == "Busy Cam"


def test_a_permission_error_is_retried_then_error_and_connects_once_fixed(cams):
    d = cams({})

    async def go():
        ws = await client(d)
        await call(ws, "subscribe_events", {"topics": ["camera.connected", "camera.status_change"]})
        t0 = time.monotonic()
        plug(d.dev, 3, "card=Locked Cam\nfail=EACCES\n")
        failed = await events_until(ws, "camera3", "ERROR")
        elapsed = time.monotonic() - t0
        status = (await call(ws, "get_camera_status", {"device": "camera3"}))["result"]
        no_caps = await call(ws, "get_camera_capabilities", {"device": "camera3"})
        await call(ws, "subscribe_events", {"topics": ["camera.capability_detected"]})
        (d.dev / "video3").write_text("card=Locked Cam\n")  # permissions fixed: the node changes
        fixed = await events_until(ws, "camera3", "CONNECTED")
        # The capabilities nobody could read while it was ERROR are announced after the status.
        detected = await next_event(ws, "camera.capability_detected")
        caps = (await call(ws, "get_camera_capabilities", {"device": "camera3"}))["result"]
        return await closed(ws, (failed, elapsed, status, no_caps, fixed, detected, caps))
    (failed_seen, failed), elapsed, status, no_caps, (fixed_seen, fixed), detected, caps = asyncio.run(go())
    assert failed_seen == [("camera.status_change", "ERROR")]
    assert elapsed >= 5 * 0.2 * 0.9, f"ERROR after {elapsed:.2f} s: the 5 retries 200 ms apart were not made"
    assert status["status"] == "ERROR"
    assert "error" in no_caps, no_caps
    assert fixed_seen == [("camera.status_change", "CONNECTED")] and fixed["previous_status"] == "ERROR" and fixed["name"] == "Locked Cam"
    assert detected["device"] == "camera3" and detected["status"] == "CONNECTED" and detected["name"] == "Locked Cam"
    assert caps["formats"], caps


def test_a_wedged_device_that_recovers_is_connected_again(cams):
    d = cams({})

    async def go():
        ws = await client(d)
        await call(ws, "subscribe_events", {"topics": ["camera.connected", "camera.status_change"]})
        plug(d.dev, 1, "card=Stuck Cam\nwedge=1\n")
        wedged = await events_until(ws, "camera1", "ERROR")
        (d.dev / "video1").write_text("card=Stuck Cam\nwedge=0\n")  # the blocked ioctl returns
        return await closed(ws, (wedged, await events_until(ws, "camera1", "CONNECTED")))
    (wedged_seen, _), (seen, cam) = asyncio.run(go())
    assert wedged_seen == [("camera.status_change", "ERROR")]
    assert seen == [("camera.status_change", "CONNECTED")] and cam["previous_status"] == "ERROR" and cam["name"] == "Stuck Cam"
    assert any("did not answer within 0.5 s" in l.get("msg", "") for l in d.log_lines())


def test_a_slow_device_within_the_probe_timeout_is_connected(cams):
    # delay_ms= makes every ioctl slow: within probe_timeout the camera is simply CONNECTED.
    d = cams({0: UVC + "delay_ms=20\n"}, probe_timeout=2)

    async def go():
        ws = await client(d)
        return await closed(ws, (await call(ws, "get_camera_list"))["result"]["cameras"])
    listed = asyncio.run(go())
    assert [(c["device"], c["status"], c["name"]) for c in listed] == [("camera0", "CONNECTED", "HD USB Camera")]


def test_a_device_slower_than_the_probe_timeout_is_error_then_connected(cams):
    # Beyond probe_timeout: ERROR until the answer comes, then CONNECTED.
    d = cams({})

    async def go():
        ws = await client(d)
        await call(ws, "subscribe_events", {"topics": ["camera.connected", "camera.status_change"]})
        plug(d.dev, 6, "card=Slow Cam\ndelay_ms=150\n")  # about ten ioctls: 1.5 s, timeout 0.5 s
        return await closed(ws, (await events_until(ws, "camera6", "ERROR"), await events_until(ws, "camera6", "CONNECTED", timeout=8)))
    (slow_seen, _), (seen, cam) = asyncio.run(go())
    assert slow_seen == [("camera.status_change", "ERROR")]
    assert seen == [("camera.status_change", "CONNECTED")] and cam["name"] == "Slow Cam"


def test_nodes_outside_the_device_range_are_ignored(cams):
    d = cams({0: UVC, 3: UVC, 9: UVC}, device_range="2-4", plugins_extra=[{"name": "test_pattern_source", "library": "TestPatternSource"}])

    async def go():
        ws = await client(d)
        listed = (await call(ws, "get_camera_list"))["result"]
        info = (await call(ws, "get_server_info"))["result"]
        system = (await call(ws, "get_system_status"))["result"]
        await call(ws, "subscribe_events", {"topics": ["camera.connected"]})
        plug(d.dev, 8, UVC)  # outside: never announced, so the first event is camera4's
        plug(d.dev, 4, UVC)
        first = await next_event(ws, "camera.connected")
        after = (await call(ws, "get_camera_list"))["result"]
        return await closed(ws, (listed, info, system, first, after))
    listed, info, system, first, after = asyncio.run(go())
    assert [c["device"] for c in listed["cameras"]] == ["camera3", "test_cam0", "test_cam1"]
    assert info["max_cameras"] == 3 + 2  # video2–video4, and the two test patterns
    assert system["discovery_active"] is True
    assert first["device"] == "camera4"
    assert [c["device"] for c in after["cameras"]] == ["camera3", "camera4", "test_cam0", "test_cam1"]


def test_a_devices_directory_that_appears_later_is_watched(daemon_factory, fake_lib, tmp_path):
    later = tmp_path / "later"
    plugins = [DEFAULT_PLUGINS[0], {"name": "v4l2_source", "library": "V4L2Source",
                                    "config": {"devices_dir": str(later), "discovery": "inotify", "probe_timeout": 0.5}}]
    d = daemon_factory(plugins=plugins, env={"LD_PRELOAD": str(fake_lib), "FAKE_V4L2_DIR": str(later)}).start()

    async def go():
        ws = await client(d)
        before = (await call(ws, "get_camera_list"))["result"]
        system = (await call(ws, "get_system_status"))["result"]
        info = (await call(ws, "get_server_info"))["result"]
        await call(ws, "subscribe_events", {"topics": ["camera.connected"]})
        later.mkdir()
        plug(later, 0, UVC)
        return await closed(ws, (before, system, info, await next_event(ws, "camera.connected", timeout=4)))
    before, system, info, cam = asyncio.run(go())
    assert before["total"] == 0
    assert system["discovery_active"] is True  # waiting for the directory is discovery too
    assert info["max_cameras"] == 64  # the default range, video0–video63
    assert cam["device"] == "camera0" and cam["name"] == "HD USB Camera"
