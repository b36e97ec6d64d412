"""docs/api.md's examples are true.

The document is parsed; every method section's example request is sent to a running
`camera-service --demo` (test-pattern cameras, FFmpeg capture, the MediaMTX stand-in of
Tests/mediamtx as media backend, the FileStore plugin as storage provider or, while it
provides none, the storage fixture of Tests/Fixtures) on a connection of the documented role,
and the live reply must have the documented reply's keys (recursively; arrays by their first
element; objects keyed by names such as `per_method` by their common entries) with the same
JSON types (`null` on either side matches anything: values differ from run to run). Besides:

- each section's role and parameter table match `rpc.discover` (and a caller one role below is
  refused with -32001/-32002 naming that role);
- every documented error object has the code/message pair of Sources/PluginAPI/RPCError.swift,
  and every example of the Errors section is reproduced live (same code, message and `data`
  keys): most on the demo daemon, the ones that need a known JWT secret, a fake V4L2 camera,
  a missing capability or a full disk on a second daemon;
- every documented event is received live with the documented params (keys listed under
  "Optional keys:" may be absent), and no live event carries an undocumented key; the two
  topics no shipped plugin can deliver to a client are checked for form only.
"""
import asyncio
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import websockets

from conftest import BIN, REPO, SECRET, Daemon, free_port, make_token
from demo import Demo

sys.path.insert(0, str(REPO / "Tests" / "mediamtx"))
import mtx_server  # noqa: E402

DOC = (REPO / "docs" / "api.md").read_text()
RPC_ERROR_SOURCE = (REPO / "Sources" / "PluginAPI" / "RPCError.swift").read_text()
FAKE = REPO / "Tests" / "FakeV4L2"

# Objects keyed by names (methods, topics, components, …): compared entry by entry where both have one.
MAPS = {"per_method", "topic_counts", "components", "rejected_by_reason", "by_plugin"}
# Topics no client can receive from the shipped plugins (the doc says why); checked for form only.
UNOBSERVABLE = {
    "system.startup": "published once as the daemon begins to listen, before any client can have subscribed",
}
# The order methods are exercised in (state builds up: a recording before its file is looked up).
RUN_ORDER = ["ping", "rpc.discover", "authenticate", "get_server_info", "get_system_status", "get_camera_list",
             "get_camera_status", "get_camera_capabilities", "subscribe_events", "get_subscription_stats",
             "unsubscribe_events", "get_stream_url", "get_stream_status", "get_streams", "start_streaming",
             "stop_streaming", "take_snapshot", "start_recording", "stop_recording", "list_recordings",
             "list_snapshots", "get_recording_info", "get_snapshot_info", "delete_recording", "delete_snapshot",
             "get_storage_info", "set_retention_policy", "cleanup_old_files", "get_metrics", "get_status",
             "test_pattern.list"]
FILE_METHODS = {"get_recording_info", "get_snapshot_info", "delete_recording", "delete_snapshot"}
LOWER = {"viewer": None, "operator": "viewer", "admin": "operator"}

# --------------------------------------------------------------------------------- the document


def chapter(title):
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    assert m, f"docs/api.md has no '## {title}' chapter"
    return m.group(1)


def subsections(text):
    """{heading: body} of the '### ' sections of a chapter."""
    out = {}
    for part in re.split(r"^### ", text, flags=re.M)[1:]:
        head, _, body = part.partition("\n")
        out[head.strip()] = body
    return out


def named(text):
    """The '### `name`' sections: {name: body}."""
    return {h[1:-1]: b for h, b in subsections(text).items() if h.startswith("`") and h.endswith("`")}


def blocks(body):
    """The ```json blocks of a section, as text."""
    return re.findall(r"```json\n(.*?)\n```", body, re.S)


def parsed(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def optional_keys(body):
    m = re.search(r"^Optional keys: (.*)$", body, re.M)
    return set(re.findall(r"`([A-Za-z0-9_]+)`", m.group(1))) if m else set()


def method_example(name, body):
    """(request text, documented reply) of a method section: the first block naming the method,
    then the next block, which must be a reply with the request's id."""
    bs = blocks(body)
    for i, b in enumerate(bs):
        req = parsed(b)
        if isinstance(req, dict) and req.get("method") == name and "id" in req:
            assert i + 1 < len(bs), f"{name}: example request without a reply"
            reply = parsed(bs[i + 1])
            assert isinstance(reply, dict) and ("result" in reply or "error" in reply), f"{name}: the block after the request is no reply"
            assert reply.get("id") == req["id"], f"{name}: the example reply's id is not the request's"
            return b, reply
    raise AssertionError(f"{name}: no example request with \"method\": \"{name}\"")


def documented_role(name, body):
    m = re.search(r"Role: \*\*(none|viewer|operator|admin)\*\*", body)
    assert m, f"{name}: no 'Role: **…**'"
    return m.group(1)


def params_table(body):
    """{param: required} from the section's table, {} for 'No parameters.'"""
    rows = re.findall(r"^\| `([A-Za-z0-9_]+)` \| [^|]+ \| (yes|no) \|", body, re.M)
    if not rows:
        assert "No parameters." in body, "neither a parameter table nor 'No parameters.'"
    return {name: req == "yes" for name, req in rows}


def http_examples():
    """[(method, path, headers, status, body text)] of the HTTP chapter's plain exchanges."""
    out = []
    for b in re.findall(r"```\n(.*?)\n```", chapter("HTTP"), re.S):
        m = re.match(r"([A-Z]+) (\S+) HTTP/1\.1\n((?:[A-Za-z-]+: .*\n)*)\nHTTP/1\.1 (\d{3}) .*\n(?:.*\n)*?\n?(.*)\Z", b + "\n", re.S)
        assert m, f"HTTP example not in the request/blank line/response form:\n{b}"
        headers = dict(h.split(": ", 1) for h in m.group(3).splitlines())
        out.append((m.group(1), m.group(2), headers, int(m.group(4)), b.split("\n\n")[-1]))
    assert out
    return out


METHODS = named(chapter("Methods"))
EVENTS = named(chapter("Events"))
ERRORS = {h: b for h, b in subsections(chapter("Errors")).items()}


def error_examples():
    """[(code, message from the heading, request text or None, documented reply)] of the Errors chapter."""
    out = []
    for head, body in ERRORS.items():
        m = re.match(r"(-32\d{3}) (.+)$", head)
        assert m, f"error heading '{head}' is not '<code> <message>'"
        code, message = int(m.group(1)), m.group(2)
        bs = blocks(body)
        found = False
        for i, b in enumerate(bs):
            reply = parsed(b)
            if isinstance(reply, dict) and "error" in reply:
                request = bs[i - 1] if i > 0 and not (isinstance(parsed(bs[i - 1]), dict) and "error" in parsed(bs[i - 1])) else None
                out.append((code, message, request, reply))
                found = True
        assert found, f"error section {head} has no example error object"
    return out


def source_messages():
    pairs = dict((int(c), m) for c, m in re.findall(r'RPCError\(code: (-\d+), message: "([^"]+)"', RPC_ERROR_SOURCE))
    assert len(pairs) >= 13, pairs
    return pairs


# ----------------------------------------------------------------------------- shape comparison


def jtype(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(v)]


def compare(doc, live, path="", optional=frozenset()):
    """Problems between a documented value and a live one: missing or extra keys, other types."""
    problems = []
    if doc is None or live is None:
        return problems
    td, tl = jtype(doc), jtype(live)
    if td != tl:
        return [f"{path or '.'}: documented {td}, daemon sent {tl} ({json.dumps(live)[:80]})"]
    if td == "object":
        key = path.rsplit(".", 1)[-1].split("[")[0]
        if key in MAPS:
            for k in doc.keys() & live.keys():
                problems += compare(doc[k], live[k], f"{path}.{k}", optional)
            return problems
        for k in doc:
            if k not in live and k not in optional:
                problems.append(f"{path}.{k}: documented, but the daemon's reply has no such key")
        for k in live:
            if k not in doc and k not in optional:
                problems.append(f"{path}.{k}: in the daemon's reply, but not documented")
        for k in doc.keys() & live.keys():
            problems += compare(doc[k], live[k], f"{path}.{k}", optional)
    elif td == "array" and doc and live:
        problems += compare(doc[0], live[0], f"{path}[0]", optional)
    return problems


def test_compare_catches_renamed_keys_and_types():
    doc = {"result": {"cameras": [{"device": "a", "fps": 30}], "total": 1}}
    assert compare(doc, {"result": {"cameras": [{"device": "b", "fps": 15}], "total": 2}}) == []
    assert compare(doc, {"result": {"cameras": [{"device": "b", "frame_rate": 15}], "total": 2}})
    assert compare(doc, {"result": {"cameras": [{"device": "b", "fps": "15"}], "total": 2}})
    assert compare(doc, {"result": {"cameras": [], "total": 0, "extra": 1}})
    assert compare({"a": {"detail": "x"}}, {"a": {}}, optional={"detail"}) == []


# ------------------------------------------------------------------------------------ live runs


class Conn:
    """One WebSocket: requests by id (any JSON text), notifications kept in order."""

    def __init__(self, ws):
        self.ws = ws
        self.notes = []
        self.n = 0

    @classmethod
    async def open(cls, port, token=None):
        c = cls(await websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=None))
        if token:
            r = await c.call("authenticate", {"auth_token": token})
            assert "result" in r, r
        return c

    async def exchange(self, text, timeout=60):
        """Sends `text` and returns the reply to it (None for a notification)."""
        req = parsed(text)
        await self.ws.send(text)
        if isinstance(req, dict) and "id" not in req:
            return None
        want_batch = isinstance(req, list) and len(req) > 0
        want_id = req.get("id") if isinstance(req, dict) else None
        deadline = time.monotonic() + timeout
        while True:
            m = json.loads(await asyncio.wait_for(self.ws.recv(), max(0.1, deadline - time.monotonic())))
            if isinstance(m, list):
                if want_batch:
                    return m
                continue
            if "method" in m and "id" not in m:
                self.notes.append(m)
                continue
            if not want_batch and m.get("id") == want_id:
                return m

    async def call(self, method, params=None):
        self.n += 1
        req = {"jsonrpc": "2.0", "method": method, "id": f"t{self.n}"}
        if params is not None:
            req["params"] = params
        return await self.exchange(json.dumps(req))

    async def drain(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                m = json.loads(await asyncio.wait_for(self.ws.recv(), end - time.monotonic()))
            except asyncio.TimeoutError:
                return
            if isinstance(m, dict) and "method" in m and "id" not in m:
                self.notes.append(m)

    async def until(self, topic, timeout=20, **match):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for n in self.notes:
                if n["method"] == topic and all(n["params"].get(k) == v for k, v in match.items()):
                    return n
            await self.drain(0.2)
        raise AssertionError(f"no {topic} {match} within {timeout} s")


def plugins_d1(mtx, v4l2_dir):
    """The repo's plugins.yaml, with MediaMTX at the stand-in, quick timings and small cameras."""
    plugins = [
        {"name": "jwt_auth", "library": "JWTAuth", "required": True, "config": {"clock_skew": 30}},
        {"name": "v4l2_source", "library": "V4L2Source", "config": {"devices_dir": str(v4l2_dir), "discovery": "inotify"}},
        {"name": "test_pattern_source", "library": "TestPatternSource", "config": {"prefix": "test", "cameras": [
            {"name": "cam0", "resolution": "640x360", "fps": 15, "pattern": "testsrc2"},
            {"name": "cam1", "resolution": "320x240", "fps": 15, "pattern": "smptebars"}]}},
        {"name": "mediamtx_backend", "library": "MediaMTXBackend", "config": {
            "api_url": f"http://127.0.0.1:{mtx.api_port}", "rtsp_port": mtx.rtsp_port, "health_interval": 0.5,
            "request_timeout": 1, "failure_threshold": 2, "max_backoff": 1, "start_timeout": 15}},
        {"name": "ffmpeg_capture", "library": "FFmpegCapture", "config": {
            "progress_interval": 1, "recording_start_timeout": 15, "stream_snapshot_timeout": 8}},
        {"name": "file_store", "library": "FileStore"},
    ]
    return plugins


def start_demo(tmp, plugins, port):
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "plugins.yaml").write_text(json.dumps({"plugins": plugins}))
    (tmp / "config.yaml").write_text(json.dumps({"server": {"host": "127.0.0.1", "port": port},
                                                 "plugins": {"dirs": [str(BIN.parent)]}, "data_dir": str(tmp / "data")}))
    return Demo(tmp / "config.yaml", port)


def ffmpeg_segment_children(pid):
    r = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(l.split()[0]) for l in r.stdout.splitlines() if "ffmpeg" in l and "segment" in l]


def substitute(name, request, documented, demo, state):
    """The documented request, made runnable: live tokens for cut ones, live file names."""
    req = json.loads(request)
    params = req.get("params") if isinstance(req.get("params"), dict) else {}
    for key in ("auth_token", "token"):
        if isinstance(params.get(key), str) and "…" in params[key]:
            params[key] = demo.tokens[(documented.get("result") or {}).get("role", "operator")]
    if name in FILE_METHODS:
        kind = "recording" if "recording" in name else "snapshot"
        params["filename"] = state[kind]
    return json.dumps(req)


async def run_demo(demo, mtx, results):
    port = demo.port
    tokens = demo.tokens
    watcher = await Conn.open(port, tokens["admin"])
    discover = (await watcher.call("rpc.discover"))["result"]
    results["discover"] = discover
    sub = await watcher.call("subscribe_events", {"topics": [e["name"] for e in discover["x-events"]]})
    assert "result" in sub, sub
    conns = {"none": await Conn.open(port), "viewer": await Conn.open(port, tokens["viewer"]),
             "operator": await Conn.open(port, tokens["operator"]), "admin": await Conn.open(port, tokens["admin"])}
    op = conns["operator"]
    state = {}
    live = {}
    order = [m for m in RUN_ORDER if m in METHODS] + [m for m in METHODS if m not in RUN_ORDER]
    for name in order:
        body = METHODS[name]
        request, documented = method_example(name, body)
        role = documented_role(name, body)
        req = json.loads(request)
        params = req.get("params") or {}
        device = params.get("device") if isinstance(params, dict) else None
        # What the example needs to have happened first.
        if name == "stop_recording" and not state.get("recording"):
            assert "result" in await op.call("start_recording", {"device": device}), "could not start a recording"
            state["recording_started"] = time.monotonic()
        if name == "stop_recording":
            await asyncio.sleep(max(0, 2.5 - (time.monotonic() - state["recording_started"])))  # progress events
        if name == "stop_streaming":
            await op.call("start_streaming", {"device": device})
        if name == "unsubscribe_events" and params.get("topics"):
            await conns[role].call("subscribe_events", {"topics": params["topics"]})
        if name in FILE_METHODS:
            kind = "recording" if "recording" in name else "snapshot"
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # the store catalogues a finished file in the background
                files = (await conns["viewer"].call(f"list_{kind}s", {"limit": 1000}))["result"]["files"]
                if any(f["filename"] == state.get(kind) for f in files):
                    break
                await asyncio.sleep(0.2)
        conn = await Conn.open(port) if name == "authenticate" else conns[role]
        reply = await conn.exchange(substitute(name, request, documented, demo, state))
        live[name] = reply
        res = reply.get("result") if isinstance(reply, dict) else None
        if name == "start_recording" and isinstance(res, dict):
            state["recording"] = res["filename"]
            state["recording_started"] = time.monotonic()
        if name == "stop_recording" and isinstance(res, dict):
            state["recording"] = res["filename"]
        if name == "take_snapshot" and isinstance(res, dict):
            state["snapshot"] = res["filename"]
    results["methods"] = live

    # Roles: one role below the documented one is refused, naming the documented role.
    refusals = {}
    for name, body in METHODS.items():
        role = documented_role(name, body)
        if role == "none":
            continue
        request, documented = method_example(name, body)
        below = LOWER[role]
        conn = conns["none"] if below is None else conns[below]
        refusals[name] = (role, await conn.exchange(substitute(name, request, documented, demo, {"recording": "x.mp4", "snapshot": "x.jpg"})))
    results["refusals"] = refusals

    # Error examples that the demo daemon reproduces as they are written.
    errors = {}
    for i, (code, _, request, doc) in enumerate(error_examples()):
        reason = doc["error"]["data"].get("reason")
        if request is None or code in (-32030, -32050, -32060) or reason in ("token_expired", "auth_backoff"):
            continue
        conn = conns["viewer"] if code == -32002 else (await Conn.open(port) if code == -32001 else conns["admin"])
        errors[i] = await conn.exchange(request)
    batch = json.dumps([{"jsonrpc": "2.0", "method": "ping", "id": 1000 + i} for i in range(202)])
    limited = await (await Conn.open(port, tokens["viewer"])).exchange(batch)
    results["rate_limited"] = limited[-1]

    # The HTTP exchanges.
    exchanges = []
    for method, path, headers, status, body in http_examples():
        if path.startswith("/files/"):
            shot = (await op.call("take_snapshot", {"device": "test_cam0", "filename": "api_examples_download"}))["result"]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # catalogued in the background
                files = (await conns["viewer"].call("list_snapshots", {"limit": 1000}))["result"]["files"]
                if any(f["filename"] == shot["filename"] for f in files):
                    break
                await asyncio.sleep(0.2)
            path = shot["download_url"]
        sent = {k: (f"Bearer {tokens['viewer']}" if k == "Authorization" and "…" in v else v) for k, v in headers.items()}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(method, path, headers=sent)
        r = conn.getresponse()
        exchanges.append((path, (method, status, body, r.status, r.read().decode(errors="replace")), None))
        conn.close()
    results["http"] = exchanges

    # Events the methods above did not cause.
    await op.call("take_snapshot", {"device": "test_cam0", "filename": "api_examples_twice"})
    await op.call("take_snapshot", {"device": "test_cam0", "filename": "api_examples_twice"})  # snapshot.error
    await watcher.until("snapshot.error")
    assert "result" in await op.call("start_recording", {"device": "test_cam1", "format": "mkv"})
    await asyncio.sleep(2.5)
    for pid in ffmpeg_segment_children(demo.proc.pid):
        os.kill(pid, signal.SIGKILL)
    await watcher.until("recording.error")
    mtx.restart()
    await watcher.until("mediamtx_backend.paths_restored")
    mtx.stop()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = await conns["viewer"].call("get_streams")
        if "error" in r and r["error"]["code"] == -32050:
            break
        await asyncio.sleep(0.3)
    for i, (code, _, request, doc) in enumerate(error_examples()):
        if code == -32050 and request:
            errors[i] = await conns["viewer"].exchange(request)
    results["errors"] = errors
    await watcher.until("system.health", component="mediamtx", component_status="unhealthy")

    demo.proc.send_signal(signal.SIGTERM)
    results["sigterm_sent"] = True
    try:
        while True:
            m = json.loads(await asyncio.wait_for(watcher.ws.recv(), 15))
            if isinstance(m, dict) and "method" in m:
                watcher.notes.append(m)
    except (websockets.ConnectionClosed, asyncio.TimeoutError):
        pass
    results["notes"] = watcher.notes + [n for c in conns.values() for n in c.notes]


UVC = ("card=HD USB Camera\nbus_info=usb-0000:00:14.0-1\n"
       "formats=YUYV:640x480@30,15;1280x720@10|MJPG:640x480@30;1280x720@30,15;1920x1080@30\n")


def plug(dev, index, content):
    tmp = dev / f".tmp-video{index}"
    tmp.write_text(content)
    os.rename(tmp, dev / f"video{index}")


async def run_second(d, dev, results):
    """A daemon with a known secret, a fake V4L2 camera, the storage fixture and no media backend."""
    c = await Conn.open(d.port, make_token("admin", user="alice"))
    await c.call("subscribe_events", {"topics": ["camera.connected", "camera.disconnected", "camera.status_change",
                                                 "camera.capability_detected", "storage.warning", "snapshot.error", "system.health"]})
    plug(dev, 0, UVC)
    await c.until("camera.connected", device="camera0")
    plug(dev, 0, UVC.replace("HD USB Camera", "HD USB Camera (rev 2)"))
    await c.until("camera.status_change", device="camera0")
    os.remove(dev / "video0")
    await c.until("camera.disconnected", device="camera0")
    await c.until("camera_status_update", status="DISCONNECTED")
    # A camera ERROR until its permissions are fixed: its capabilities are detected then.
    plug(dev, 1, UVC + "fail=EACCES\n")
    await c.until("camera.status_change", device="camera1", status="ERROR")
    plug(dev, 1, UVC)
    await c.until("camera.capability_detected", device="camera1")
    errors = {}
    examples = error_examples()
    for i, (code, _, request, doc) in enumerate(examples):
        if code == -32030 and request:
            errors[i] = await c.exchange(request)
    await c.call("fixture_storage.set_level", {"level": "warning", "usage": 85})
    await c.call("fixture_storage.set_level", {"level": "critical", "usage": 96})
    for i, (code, _, request, doc) in enumerate(examples):
        if code == -32060 and request:
            errors[i] = await c.exchange(request)
    await c.until("snapshot.error")
    await c.call("fixture_storage.set_level", {"level": "normal", "usage": 40})
    await c.until("storage.warning", level="normal")
    # An expired session, then the authentication backoff (last: it locks this address out).
    expiring = await Conn.open(d.port, make_token("viewer", user="bob", ttl=3))
    await asyncio.sleep(4.2)
    fresh = await Conn.open(d.port)
    for i, (code, _, request, doc) in enumerate(examples):
        reason = doc["error"]["data"].get("reason")
        if reason == "token_expired" and request:
            errors[i] = await expiring.exchange(request)
    for _ in range(5):
        await fresh.call("authenticate", {"auth_token": "garbage"})
    for i, (code, _, request, doc) in enumerate(examples):
        if doc["error"]["data"].get("reason") == "auth_backoff" and request:
            errors[i] = await fresh.exchange(request)
    results["errors2"] = errors
    results["notes2"] = c.notes


@pytest.fixture(scope="module")
def live(tmp_path_factory, fixtures):
    ok, why = mtx_server.python_for_standin_ok()
    if not ok and not mtx_server.real_binary():
        pytest.skip(f"the MediaMTX stand-in cannot run here, so streaming replies cannot be captured: {why}")
    tmp = tmp_path_factory.mktemp("api_examples")
    results = {}
    mtx = mtx_server.MediaMTX(tmp / "mtx").start()
    v4l2_dir = tmp / "no-cameras"
    v4l2_dir.mkdir()
    try:
        demo = start_demo(tmp / "d1", plugins_d1(mtx, v4l2_dir), free_port())
        try:
            asyncio.run(asyncio.wait_for(run_demo(demo, mtx, results), 300))
        finally:
            if results.get("sigterm_sent"):
                try:
                    demo.proc.wait(timeout=30)  # a second SIGTERM would cut the shutdown short
                except subprocess.TimeoutExpired:
                    pass
            results["demo_exit"], results["demo_log"] = demo.stop()
    finally:
        mtx.stop()

    subprocess.run(["make", "-s", "-C", str(FAKE)], check=True, capture_output=True)
    dev = tmp / "dev"
    dev.mkdir()
    (tmp / "d2").mkdir()
    d = Daemon(tmp / "d2", config={"security": {"rate_limit": {"auth_failures_before_backoff": 5}}},
               plugins=[{"name": "jwt_auth", "library": "JWTAuth", "required": True, "config": {"secret": SECRET, "clock_skew": 0}},
                        {"name": "v4l2_source", "library": "V4L2Source", "config": {"devices_dir": str(dev), "discovery": "inotify", "probe_timeout": 0.5}},
                        {"name": "test_pattern_source", "library": "TestPatternSource", "config": {"cameras": [
                            {"name": "cam0", "resolution": "320x240", "fps": 15, "pattern": "testsrc"}]}},
                        {"name": "ffmpeg_capture", "library": "FFmpegCapture"},
                        {"name": "fixture_storage", "library": str(fixtures / "libFixtureDirStorage.so"), "config": {"root": str(tmp / "d2" / "store")}}],
               env={"LD_PRELOAD": str(FAKE / "libfakev4l2.so"), "FAKE_V4L2_DIR": str(dev)})
    d.start()
    try:
        asyncio.run(asyncio.wait_for(run_second(d, dev, results), 120))
    finally:
        d.end()
    return results


# ------------------------------------------------------------------------------------- the tests


def method_problems(live, names):
    problems = []
    for name in names:
        body = METHODS[name]
        _, documented = method_example(name, body)
        reply = live["methods"].get(name)
        assert reply is not None, f"{name}: not run"
        if ("error" in reply) != ("error" in documented):
            problems.append(f"{name}: documented {'an error' if 'error' in documented else 'a result'}, the daemon answered {json.dumps(reply)[:300]}")
            continue
        problems += [f"{name}: {p}" for p in compare(documented, reply, "", optional_keys(body))]
    return problems


def test_method_replies_have_the_documented_keys_and_types(live):
    problems = method_problems(live, [m for m in METHODS if m not in FILE_METHODS])
    assert not problems, "docs/api.md method examples differ from the daemon:\n" + "\n".join(problems)


def test_file_method_replies_have_the_documented_keys_and_types(live):
    """Looking up and deleting files, through FileStore."""
    problems = method_problems(live, [m for m in METHODS if m in FILE_METHODS])
    assert not problems, "docs/api.md method examples differ from the daemon:\n" + "\n".join(problems)


def test_roles_and_parameters_match_rpc_discover(live):
    discovered = {m["name"]: m for m in live["discover"]["methods"]}
    problems = []
    for name, body in METHODS.items():
        if name not in discovered:
            problems.append(f"{name}: documented, but rpc.discover has no such method")
            continue
        m = discovered[name]
        role = documented_role(name, body)
        if role != m["x-required-role"]:
            problems.append(f"{name}: documented role {role}, rpc.discover says {m['x-required-role']}")
        table = params_table(body)
        live_params = {p["name"]: p.get("required", False) for p in m.get("params", [])}
        if table != live_params:
            problems.append(f"{name}: parameters documented {table}, rpc.discover has {live_params}")
    for name, (role, reply) in live["refusals"].items():
        err = (reply or {}).get("error") or {}
        if role == "viewer":
            if err.get("code") != -32001:
                problems.append(f"{name}: documented for viewers, but an anonymous call got {json.dumps(reply)[:200]}")
        elif err.get("code") != -32002 or err.get("data", {}).get("required_role") != role:
            problems.append(f"{name}: documented for {role}, but a {LOWER[role]} got {json.dumps(reply)[:200]}")
    assert not problems, "\n".join(problems)


def test_every_error_object_has_the_daemons_code_and_message():
    messages = source_messages()
    problems = []
    for block in re.findall(r"```json\n(.*?)\n```", DOC, re.S):
        for v in (parsed(block) if isinstance(parsed(block), list) else [parsed(block)]):
            if isinstance(v, dict) and isinstance(v.get("error"), dict):
                e = v["error"]
                if messages.get(e.get("code")) != e.get("message"):
                    problems.append(f"{e.get('code')} {e.get('message')!r}: the daemon's message for {e.get('code')} is {messages.get(e.get('code'))!r}")
                if not isinstance(e.get("data"), dict) or not isinstance(e["data"].get("reason"), str):
                    problems.append(f"{e.get('code')}: error example without data.reason")
    for code, message, _, doc in error_examples():
        if messages.get(code) != message:
            problems.append(f"heading {code} {message}: the daemon's message is {messages.get(code)!r}")
        if doc["error"]["code"] != code:
            problems.append(f"section {code} shows an error {doc['error']['code']}")
    documented_codes = {code for code, _, _, _ in error_examples()}
    missing = set(messages) - documented_codes
    assert not missing, f"error codes of RPCError.swift without a section in docs/api.md: {sorted(missing)}"
    assert not problems, "\n".join(problems)


def test_error_examples_are_reproduced_live(live):
    produced = dict(live["errors"])
    produced.update(live["errors2"])
    problems = []
    for i, (code, _, request, doc) in enumerate(error_examples()):
        reason = doc["error"]["data"].get("reason")
        if code == -32603:
            continue  # a bug by definition: nothing to send that produces it
        if reason == "rate_limited":
            reply = live["rate_limited"]
        elif i in produced:
            reply = produced[i]
        else:
            problems.append(f"{code} ({reason}): no live reproduction (the example needs a request block)")
            continue
        err = (reply or {}).get("error")
        if not err or err["code"] != code or err["message"] != doc["error"]["message"]:
            problems.append(f"{code} ({reason}): the daemon answered {json.dumps(reply)[:300]}")
            continue
        problems += [f"{code} ({reason}): {p}" for p in compare(doc, reply)]
        if err["data"].get("reason") != reason:
            problems.append(f"{code}: documented reason {reason}, the daemon's is {err['data'].get('reason')}")
    assert not problems, "docs/api.md error examples differ from the daemon:\n" + "\n".join(problems)


def http_problems(exchanges):
    problems = []
    for path, (method, status, doc_body, live_status, live_body) in exchanges:
        if status != live_status:
            problems.append(f"{method} {path}: documented {status}, the daemon answered {live_status} {live_body[:200]}")
            continue
        documented = parsed(doc_body)
        if documented is not None:
            problems += [f"{method} {path}: {p}" for p in compare(documented, parsed(live_body))]
        elif doc_body.startswith("# HELP") and not live_body.startswith("# HELP"):
            problems.append(f"{method} {path}: not Prometheus text: {live_body[:100]}")
    return problems


def test_http_examples(live):
    problems = http_problems([(p, e) for p, e, _ in live["http"] if not p.startswith("/files/")])
    assert not problems, "docs/api.md HTTP examples differ from the daemon:\n" + "\n".join(problems)


def test_http_download_example(live):
    downloads = [(p, e) for p, e, _ in live["http"] if p.startswith("/files/")]
    assert downloads, "the HTTP chapter has no /files/ download example"
    problems = http_problems(downloads)
    assert not problems, "docs/api.md HTTP examples differ from the daemon:\n" + "\n".join(problems)


def event_examples(topic, body):
    out = []
    for b in blocks(body):
        v = parsed(b)
        if isinstance(v, dict) and v.get("method") == topic and "id" not in v:
            out.append(v)
    assert out, f"event {topic}: no example notification"
    return out


def test_events_have_the_documented_params(live):
    notes = [n for n in live["notes"] + live["notes2"] if isinstance(n, dict)]
    problems = []
    for topic, body in EVENTS.items():
        docs = event_examples(topic, body)
        legacy = "." not in topic
        for d in docs:
            keys = set(d["params"])
            if not legacy and not {"timestamp", "seq"} <= keys:
                problems.append(f"{topic}: example without params.timestamp and params.seq")
            if legacy and {"timestamp", "seq"} & keys:
                problems.append(f"{topic}: legacy notifications have no timestamp/seq")
        if topic in UNOBSERVABLE:
            print(f"{topic}: checked for form only ({UNOBSERVABLE[topic]})")
            continue
        seen = [n for n in notes if n.get("method") == topic]
        if not seen:
            problems.append(f"{topic}: documented, but the test run never received one")
            continue
        optional = optional_keys(body)
        for d in docs:
            if all(compare(d, n, "", optional) for n in seen):
                best = min((compare(d, n, "", optional) for n in seen), key=len)
                problems.append(f"{topic}: no live event matches the example: " + "; ".join(best))
        documented = set().union(*(set(d["params"]) for d in docs)) | optional
        for n in seen:
            extra = set(n["params"]) - documented
            if extra:
                problems.append(f"{topic}: the daemon sent undocumented params {sorted(extra)}")
                break
    assert not problems, "docs/api.md events differ from the daemon:\n" + "\n".join(problems)


def test_every_topic_and_method_of_the_daemon_is_in_its_chapter(live):
    methods = {m["name"] for m in live["discover"]["methods"]}
    topics = {e["name"] for e in live["discover"]["x-events"]}
    fixture_only = {m for m in methods if m.startswith("fixture_storage.")}
    assert methods - fixture_only - set(METHODS) == set(), "methods without a section under '## Methods'"
    assert topics - set(EVENTS) == set(), "topics without a section under '## Events'"
    assert {"camera_status_update", "recording_status_update"} <= set(EVENTS)
    assert live["demo_exit"] == 0, live["demo_log"][-2000:]
