"""The FileStore plugin through the running daemon: listings and pagination over real media
files (ffmpeg), changes made by hand in the directories, traversal attempts over JSON-RPC and
HTTP, retention by age and size, restart persistence, a deleted or corrupt catalogue, storage
thresholds and their events, and downloads with Range through curl and http.client."""
import asyncio
import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from client import Client
from conftest import DEFAULT_PLUGINS, make_token, wait_for

REC = "media/recordings"
SNAP = "media/snapshots"


@pytest.fixture(scope="session")
def samples(tmp_path_factory):
    """Real media files, made once: mp4, fragmented mp4, mkv (2 s, 320x240), jpg and png."""
    out = tmp_path_factory.mktemp("samples")
    src = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=15"]
    made = {
        "mp4": src + ["-t", "2", "-pix_fmt", "yuv420p"],
        "fmp4.mp4": src + ["-t", "2", "-pix_fmt", "yuv420p", "-movflags", "+frag_keyframe+empty_moov+default_base_moof"],
        "mkv": src + ["-t", "2"],
        "jpg": src + ["-frames:v", "1"],
        "png": src + ["-frames:v", "1"],
    }
    paths = {}
    for ext, args in made.items():
        p = out / f"sample.{ext}"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y"] + args + [str(p)], check=True)
        paths[ext.split(".")[0]] = p
    return paths


def store_plugin(**config):
    cfg = {"recordings_dir": REC, "snapshots_dir": SNAP, "debounce": "50ms"}
    cfg.update(config)
    return DEFAULT_PLUGINS + [{"name": "file_store", "library": "FileStore", "config": cfg}]


@pytest.fixture
def make_store(daemon_factory):
    """A daemon with the file store; `usage` writes the fake usage percentage it reads (the
    documented test hook CAMERA_SERVICE_FILE_STORE_FAKE_USAGE)."""
    def make(start=True, usage=None, **config):
        d = daemon_factory(plugins=store_plugin(**config))
        d.usage_file = d.tmp / "usage"
        if usage is not None:
            set_usage(d, usage)
            d.env["CAMERA_SERVICE_FILE_STORE_FAKE_USAGE"] = str(d.usage_file)
        d.rec = d.tmp / REC
        d.snap = d.tmp / SNAP
        return d.start() if start else d
    return make


def set_usage(d, percent):
    """Atomically, so the daemon never reads a half-written file."""
    tmp = d.usage_file.with_suffix(".tmp")
    tmp.write_text(str(percent))
    os.replace(tmp, d.usage_file)


def place(d, samples, kind, device, name, sample, mtime=None):
    """Copies a sample into the store by hand, with a chosen modification time."""
    base = d.tmp / (REC if kind == "recordings" else SNAP) / device
    base.mkdir(parents=True, exist_ok=True)
    p = base / name
    shutil.copyfile(samples[sample], p)
    if mtime is not None:
        os.utime(p, (mtime, mtime))
    return p


def rpc(d, calls, role="admin"):
    """Runs [(method, params), …] on one connection; returns the responses."""
    async def go():
        c = await Client.open(d.url, role)
        out = [await c.call(m, p) for m, p in calls]
        await c.ws.close()
        return out
    return asyncio.run(go())


def call(d, method, params=None, role="admin"):
    return rpc(d, [(method, params)], role)[0]


def result(d, method, params=None, role="admin"):
    r = call(d, method, params, role)
    assert "result" in r, r
    return r["result"]


def names(d, kind="recordings", **params):
    return [f["filename"] for f in result(d, f"list_{kind}", params)["files"]]


def bearer(role="viewer"):
    return {"Authorization": f"Bearer {make_token(role)}"}


def get(d, path, headers=None, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def raw_get(d, target, headers=b""):
    """A request line sent as is (no client-side normalisation of '..' or escapes)."""
    with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer "
                  + make_token("viewer").encode() + b"\r\n" + headers + b"\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


STAMP = 1_760_000_000  # 2025-10-09T08:53:20Z


def test_listings_newest_first_with_pagination_probes_and_urls(make_store, samples):
    d = make_store(start=False)
    for i in range(12):
        dev = "camera0" if i % 3 else "camera1"
        sample = ["mp4", "fmp4", "mkv"][i % 3]
        ext = "mkv" if sample == "mkv" else "mp4"
        place(d, samples, "recordings", dev, f"{dev}_2025-10-{i + 1:02d}_08-00-00.{ext}", sample, mtime=STAMP + i * 86400)
    place(d, samples, "snapshots", "camera0", "camera0_2025-10-01_08-00-00_001.jpg", "jpg")
    place(d, samples, "snapshots", "camera0", "camera0_2025-10-02_08-00-00_002.png", "png")
    (d.rec / "camera0" / "notes.txt").write_text("not a recording")
    (d.rec / "camera0" / ".tmp.mp4").write_text("hidden")
    (d.rec / "Not-A-Camera").mkdir()
    shutil.copyfile(samples["mp4"], d.rec / "Not-A-Camera" / "x.mp4")
    d.start()

    page = result(d, "list_recordings", {"limit": 5})
    assert page["total"] == 12 and page["limit"] == 5 and page["offset"] == 0
    assert [f["filename"][8:18] for f in page["files"]] == [f"2025-10-{n:02d}" for n in (12, 11, 10, 9, 8)]
    assert names(d, limit=5, offset=10) == ["camera0_2025-10-02_08-00-00.mp4", "camera1_2025-10-01_08-00-00.mp4"]
    assert names(d, limit=1000)[-1] == "camera1_2025-10-01_08-00-00.mp4"
    cam1 = result(d, "list_recordings", {"device": "camera1"})
    assert cam1["total"] == 4 and all(f["device"] == "camera1" for f in cam1["files"])
    assert result(d, "list_recordings", {"device": "camera9"}) == {"files": [], "total": 0, "limit": 50, "offset": 0}
    assert names(d, offset=100) == []

    f = page["files"][0]
    assert f["download_url"] == f"/files/recordings/{f['filename']}" and f["in_use"] is False
    assert f["created_time"] == "2025-10-12T08:00:00.000Z"
    assert f["file_size"] == (d.rec / f["device"] / f["filename"]).stat().st_size

    # Probed in the background: duration and resolution appear, mp4 is told from fmp4.
    def probed():
        files = result(d, "list_recordings", {"limit": 100})["files"]
        return files if all(x["duration"] is not None for x in files) else None
    files = wait_for(probed, "every recording probed", timeout=30)
    formats = {x["filename"]: x["format"] for x in files}
    assert formats["camera1_2025-10-01_08-00-00.mp4"] == "mp4" and formats["camera0_2025-10-02_08-00-00.mp4"] == "fmp4"
    assert formats["camera0_2025-10-03_08-00-00.mkv"] == "mkv"
    assert all(abs(x["duration"] - 2.0) < 0.2 and x["resolution"] == "320x240" for x in files)

    snaps = result(d, "list_snapshots")
    assert [s["filename"] for s in snaps["files"]] == ["camera0_2025-10-02_08-00-00_002.png", "camera0_2025-10-01_08-00-00_001.jpg"]
    assert [s["format"] for s in snaps["files"]] == ["png", "jpg"] and "duration" not in snaps["files"][0]
    info = wait_for(lambda: (i := result(d, "get_snapshot_info", {"filename": "camera0_2025-10-01_08-00-00_001.jpg"}))["resolution"] and i,
                    "snapshot probed")
    assert info["resolution"] == "320x240" and info["download_url"] == "/files/snapshots/camera0_2025-10-01_08-00-00_001.jpg"
    rinfo = result(d, "get_recording_info", {"filename": "camera0_2025-10-02_08-00-00.mp4"})
    assert rinfo["device"] == "camera0" and rinfo["format"] == "fmp4" and rinfo["modified_time"].startswith("2025-10-10T08:53:20")
    # A name with characters that need escaping gets an escaped URL.
    place(d, samples, "snapshots", "camera0", "shot #1 é.jpg", "jpg")
    info = wait_for(lambda: call(d, "get_snapshot_info", {"filename": "shot #1 é.jpg"}).get("result"), "odd name catalogued")
    assert info["download_url"] == "/files/snapshots/shot%20%231%20%C3%A9.jpg"
    assert get(d, info["download_url"], bearer())[0] == 200


def test_changes_made_by_hand_are_seen(make_store, samples):
    d = make_store()
    assert names(d) == []
    p = place(d, samples, "recordings", "camera0", "camera0_2025-10-01_08-00-00.mp4", "mp4")  # a new camera directory too
    wait_for(lambda: names(d) == [p.name], "added file listed")
    size = p.stat().st_size
    with open(p, "r+b") as f:
        f.truncate(1000)  # truncated by hand
    wait_for(lambda: result(d, "get_recording_info", {"filename": p.name})["file_size"] == 1000, "truncation seen")
    q = place(d, samples, "recordings", "camera0", "camera0_2025-10-02_08-00-00.mkv", "mkv")
    wait_for(lambda: names(d) == [q.name, p.name], "second file listed")
    os.rename(q, d.rec / "camera0" / "renamed.mkv")
    wait_for(lambda: sorted(names(d)) == sorted([p.name, "renamed.mkv"]), "rename seen")
    p.unlink()
    wait_for(lambda: names(d) == ["renamed.mkv"], "removed file dropped")
    shutil.rmtree(d.rec / "camera0")
    wait_for(lambda: names(d) == [], "removed camera directory dropped")
    assert result(d, "get_storage_info")["recordings_size"] == 0
    assert size > 1000
    # A burst: 300 files in a new camera directory at once, then half of them gone.
    burst = d.snap / "camera7"
    burst.mkdir(parents=True)
    for i in range(300):
        shutil.copyfile(samples["jpg"], burst / f"camera7_2025-10-01_08-{i // 60:02d}-{i % 60:02d}_000.jpg")
    wait_for(lambda: result(d, "list_snapshots", {"device": "camera7", "limit": 1})["total"] == 300, "burst catalogued")
    for p in sorted(burst.iterdir())[:150]:
        p.unlink()
    wait_for(lambda: result(d, "list_snapshots", {"device": "camera7", "limit": 1})["total"] == 150, "burst removal seen")
    assert names(d, "snapshots", limit=1) == ["camera7_2025-10-01_08-04-59_000.jpg"]
    assert result(d, "get_storage_info")["snapshots_size"] == 150 * samples["jpg"].stat().st_size


def test_unsafe_names_over_json_rpc(make_store, samples):
    d = make_store()
    place(d, samples, "recordings", "camera0", "camera0_2025-10-01_08-00-00.mp4", "mp4")
    secret = d.tmp / "secret.mp4"
    secret.write_bytes(b"outside the store")
    for bad in ["../secret.mp4", "../../etc/passwd", "camera0/camera0_2025-10-01_08-00-00.mp4", "a\\b.mp4", "a\u0000b.mp4", "a\u0001.mp4",
                "a\u007f.mp4", "..", "x" * 256]:
        for m in ["get_recording_info", "delete_recording", "get_snapshot_info", "delete_snapshot"]:
            r = call(d, m, {"filename": bad})
            assert r["error"]["code"] == -32602 and r["error"]["data"]["param"] == "filename", (m, bad, r)
    r = call(d, "get_recording_info", {"filename": "missing.mp4"})
    assert r["error"]["code"] == -32010 and r["error"]["data"]["resource"] == "file" and r["error"]["data"]["id"] == "missing.mp4"
    assert call(d, "delete_snapshot", {"filename": "missing.jpg"})["error"]["code"] == -32010
    # A recording is not a snapshot.
    assert call(d, "get_snapshot_info", {"filename": "camera0_2025-10-01_08-00-00.mp4"})["error"]["code"] == -32010
    # A symlink in the store pointing out of it is neither listed, nor readable, nor deletable.
    os.symlink(secret, d.rec / "camera0" / "link.mp4")
    os.symlink(d.tmp, d.rec / "linkcam")
    time.sleep(0.3)
    assert names(d) == ["camera0_2025-10-01_08-00-00.mp4"]
    assert call(d, "get_recording_info", {"filename": "link.mp4"})["error"]["code"] == -32010
    assert call(d, "delete_recording", {"filename": "link.mp4"})["error"]["code"] == -32010
    assert call(d, "get_recording_info", {"filename": "secret.mp4"})["error"]["code"] == -32010
    assert get(d, "/files/recordings/link.mp4", bearer())[0] == 404
    assert get(d, "/files/recordings/secret.mp4", bearer())[0] == 404
    assert secret.exists() and (d.rec / "camera0" / "link.mp4").is_symlink()


def test_deleting_files(make_store, samples):
    d = make_store()
    p = place(d, samples, "recordings", "camera0", "camera0_2025-10-01_08-00-00.mp4", "mp4")
    s = place(d, samples, "snapshots", "camera0", "camera0_2025-10-01_08-00-00_001.jpg", "jpg")
    wait_for(lambda: names(d) and names(d, "snapshots"), "files listed")
    r = call(d, "delete_recording", {"filename": p.name}, role="viewer")
    assert r["error"]["code"] == -32002 and p.exists()
    r = result(d, "delete_recording", {"filename": p.name}, role="operator")
    assert r == {"filename": p.name, "deleted": True, "message": f"recording {p.name} deleted"}
    assert not p.exists() and names(d) == []
    assert call(d, "delete_recording", {"filename": p.name})["error"]["code"] == -32010
    assert result(d, "delete_snapshot", {"filename": s.name}, role="operator")["deleted"] is True and not s.exists()
    assert any(l.get("audit") == "delete" and l.get("filename") == p.name for l in d.log_lines())


def test_downloads_with_range_through_http_client(make_store, samples):
    d = make_store()
    p = place(d, samples, "recordings", "camera0", "camera0_2025-10-01_08-00-00.mp4", "mp4", mtime=STAMP)
    s = place(d, samples, "snapshots", "camera0", "camera0_2025-10-01_08-00-00_001.png", "png")
    data = p.read_bytes()
    n = len(data)
    url = f"/files/recordings/{p.name}"
    wait_for(lambda: get(d, url, bearer())[0] == 200, "download served")

    status, h, body = get(d, url, bearer())
    assert status == 200 and body == data and int(h["content-length"]) == n
    assert h["content-type"] == "video/mp4" and h["accept-ranges"] == "bytes"
    assert h["last-modified"] == "Thu, 09 Oct 2025 08:53:20 GMT" and h["etag"].startswith('"')
    status, h2, body = get(d, url, bearer(), method="HEAD")
    assert status == 200 and body == b"" and h2["content-length"] == str(n) and h2["etag"] == h["etag"]
    assert get(d, f"/files/snapshots/{s.name}", bearer())[1]["content-type"] == "image/png"

    def ranged(spec, **more):
        return get(d, url, {**bearer(), "Range": spec, **more})
    status, h, body = ranged("bytes=0-0")  # the first byte
    assert status == 206 and body == data[:1] and h["content-range"] == f"bytes 0-0/{n}" and h["content-length"] == "1"
    status, h, body = ranged(f"bytes={n - 1}-{n - 1}")  # the last byte
    assert status == 206 and body == data[-1:] and h["content-range"] == f"bytes {n - 1}-{n - 1}/{n}"
    status, h, body = ranged("bytes=-500")  # a suffix
    assert status == 206 and body == data[-500:] and h["content-range"] == f"bytes {n - 500}-{n - 1}/{n}"
    status, h, body = ranged(f"bytes=-{n * 2}")  # a suffix longer than the file: all of it
    assert status == 206 and body == data and h["content-range"] == f"bytes 0-{n - 1}/{n}"
    status, h, body = ranged("bytes=100-")
    assert status == 206 and body == data[100:]
    status, h, body = ranged(f"bytes=100-{n * 10}")  # an end past the end is clipped
    assert status == 206 and body == data[100:] and h["content-range"] == f"bytes 100-{n - 1}/{n}"
    status, h, body = ranged(f"bytes={n}-")  # past the end
    assert status == 416 and h["content-range"] == f"bytes */{n}"
    assert ranged(f"bytes={n + 10}-{n + 20}")[0] == 416
    for ignored in ["bytes=0-1,5-6", "bytes=9-3", "bytes=x-y", "pages=1-2"]:  # multi-range or malformed: the whole file
        status, h, body = ranged(ignored)
        assert status == 200 and body == data and "content-range" not in h, ignored
    # Conditional requests.
    etag = h["etag"]
    status, h, body = get(d, url, {**bearer(), "If-None-Match": etag})
    assert status == 304 and body == b"" and h["etag"] == etag
    assert get(d, url, {**bearer(), "If-Modified-Since": "Thu, 09 Oct 2025 08:53:20 GMT"})[0] == 304
    assert get(d, url, {**bearer(), "If-Modified-Since": "Thu, 09 Oct 2025 08:53:19 GMT"})[0] == 200
    assert ranged("bytes=0-9", **{"If-Range": '"stale"'})[0] == 200
    # Keep-alive across several downloads on one connection, ranged and not.
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    for spec in ["bytes=0-99", None, "bytes=-1"]:
        c.request("GET", url, headers={**bearer(), **({"Range": spec} if spec else {})})
        r = c.getresponse()
        got = r.read()
        assert got == (data[:100] if spec == "bytes=0-99" else data if spec is None else data[-1:])
    c.close()


def test_downloads_with_curl(make_store, samples, tmp_path):
    d = make_store()
    p = place(d, samples, "recordings", "camera0", "camera0_2025-10-01_08-00-00.mkv", "mkv")
    url = f"{d.http}/files/recordings/{p.name}"
    auth = ["-H", f"Authorization: Bearer {make_token('viewer')}"]
    wait_for(lambda: get(d, f"/files/recordings/{p.name}", bearer())[0] == 200, "download served")
    out = tmp_path / "got.mkv"
    r = subprocess.run(["curl", "-sS", "-f", "-o", str(out), "-D", "-"] + auth + [url], capture_output=True, text=True, check=True)
    assert out.read_bytes() == p.read_bytes() and "content-type: video/x-matroska" in r.stdout.lower()
    # Resuming a partial download (curl -C -) uses a Range request.
    data = p.read_bytes()
    part = tmp_path / "part.mkv"
    part.write_bytes(data[:1234])
    r = subprocess.run(["curl", "-sS", "-f", "-C", "-", "-o", str(part), "-D", "-"] + auth + [url], capture_output=True, text=True, check=True)
    assert "206" in r.stdout.splitlines()[0] and part.read_bytes() == data
    r = subprocess.run(["curl", "-sS", "-r", "10-19", "-o", "-"] + auth + [url], capture_output=True, check=True)
    assert r.stdout == data[10:20]
    r = subprocess.run(["curl", "-sS", "-I"] + auth + [url], capture_output=True, text=True, check=True)
    assert f"content-length: {len(data)}" in r.stdout.lower() and "accept-ranges: bytes" in r.stdout.lower()
    code = lambda *a: subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", *a], capture_output=True, text=True).stdout
    assert code(url) == "401"
    assert code("-H", "X-API-Key: csk_nonsense", url) == "401"
    assert code("--path-as-is", *auth, f"{d.http}/files/recordings/../../config.yaml") == "400"
    assert code(*auth, f"{d.http}/files/recordings/%2e%2e%2fconfig.yaml") == "400"
    assert code(*auth, f"{d.http}/files/recordings/nope.mkv") == "404"


def test_download_auth_and_unsafe_names(make_store, samples):
    d = make_store()
    p = place(d, samples, "snapshots", "camera0", "camera0_2025-10-01_08-00-00_001.jpg", "jpg")
    url = f"/files/snapshots/{p.name}"
    wait_for(lambda: get(d, url, bearer())[0] == 200, "download served")
    assert get(d, url)[0] == 401
    assert get(d, url, {"Authorization": "Bearer not-a-token"})[0] == 401
    # An unknown role is no credential (401); no role ranks below viewer, so no token gets 403 here.
    assert get(d, url, {"Authorization": f"Bearer {make_token('nobody')}"})[0] == 401
    assert get(d, url, bearer("viewer"))[0] == 200 and get(d, url, bearer("admin"))[0] == 200
    assert get(d, url, bearer(), method="POST")[0] == 405
    assert get(d, "/files/snapshots/missing.jpg", bearer())[0] == 404
    assert get(d, f"/files/recordings/{p.name}", bearer())[0] == 404  # a snapshot is not a recording
    assert get(d, "/files/other/x.jpg", bearer())[0] == 404
    for target in [b"/files/snapshots/../../config.yaml", b"/files/snapshots/..%2F..%2Fconfig.yaml", b"/files/snapshots/%2e%2e%2fconfig.yaml",
                   b"/files/snapshots/%2E%2E", b"/files/snapshots/a%00.jpg", b"/files/snapshots/a%0d%0a.jpg", b"/files/snapshots/a%5c..%5cb",
                   b"/files/snapshots/camera0%2F" + p.name.encode(), b"/files/snapshots/%ff%fe.jpg", b"/files/snapshots/a%zz",
                   b"/files/snapshots/a%7f.jpg", b"/files/snapshots/%E2%80%AEgpj.exe"]:
        assert raw_get(d, target) == 400, target
    assert raw_get(d, b"/files/snapshots/" + p.name.encode()) == 200
    assert raw_get(d, b"/files/snapshots/" + p.name.replace("_", "%5F").encode()) == 200  # escapes of plain characters are fine


def test_storage_info_and_warnings_once_per_crossing(make_store, samples):
    d = make_store(start=False, usage=50, check_interval="100ms", warn_threshold=80, block_threshold=90)
    place(d, samples, "recordings", "camera0", "camera0_2025-10-01_08-00-00.mp4", "mp4")
    place(d, samples, "snapshots", "camera0", "camera0_2025-10-01_08-00-00_001.jpg", "jpg")
    d.start()

    async def go():
        c = await Client.open(d.url, "admin")
        await c.call("subscribe_events", {"topics": ["storage.warning"]})
        notes = []
        async def settle(percent, wait=1.0):
            set_usage(d, percent)
            await asyncio.sleep(wait)
            while True:
                try:
                    notes.append(await c.note(0.05))
                except asyncio.TimeoutError:
                    return
        info = (await c.call("get_storage_info"))["result"]
        await settle(85)
        await settle(86)
        await settle(79.5)  # hovering just under the threshold: still warning, no event
        await settle(81)
        await settle(95)
        mid = (await c.call("get_storage_info"))["result"]
        set_usage(d, 40)
        notes.append(await c.note(10))  # back to normal (not missed on a slow machine)
        await settle(40, wait=0.3)  # and nothing after it
        return info, mid, notes
    info, mid, notes = asyncio.run(go())
    assert info["usage_percentage"] == 50 and info["warn_threshold"] == 80 and info["block_threshold"] == 90
    assert info["low_space_warning"] is False and info["critical_space_warning"] is False
    assert info["recordings_size"] == (d.rec / "camera0" / "camera0_2025-10-01_08-00-00.mp4").stat().st_size
    assert info["snapshots_size"] > 0 and info["total_space"] > 0 and info["available_space"] >= 0
    assert mid["low_space_warning"] is True and mid["critical_space_warning"] is True and mid["usage_percentage"] == 95
    levels = [(n["params"]["previous_level"], n["params"]["level"]) for n in notes]
    assert levels == [("normal", "warning"), ("warning", "critical"), ("critical", "normal")], levels
    assert notes[0]["params"]["low_space_warning"] is True and notes[0]["params"]["usage_percentage"] == 85


def test_retention_by_age(make_store, samples):
    now = time.time()
    d = make_store(start=False)
    for i, age in enumerate([40, 35, 2]):
        place(d, samples, "recordings", "camera0", f"camera0_r{i}.mp4", "mp4", mtime=now - age * 86400)
    place(d, samples, "snapshots", "camera1", "camera1_s.jpg", "jpg", mtime=now - 31 * 86400)
    place(d, samples, "snapshots", "camera1", "camera1_new.jpg", "jpg")
    d.start()
    p = result(d, "set_retention_policy", {"policy_type": "age", "enabled": True, "max_age_days": 30})
    assert p["policy_type"] == "age" and p["enabled"] is True and p["max_age_days"] == 30
    dry = result(d, "cleanup_old_files", {"dry_run": True})
    assert dry["cleanup_executed"] is False and dry["files_deleted"] == 0 and dry["files_matched"] == 3
    assert [f["filename"] for f in dry["files"]] == ["camera0_r0.mp4", "camera0_r1.mp4", "camera1_s.jpg"]  # oldest first
    assert (d.rec / "camera0" / "camera0_r0.mp4").exists()
    done = result(d, "cleanup_old_files")
    assert done["cleanup_executed"] is True and done["files_deleted"] == 3 and done["recordings_removed"] == 2 and done["snapshots_removed"] == 1
    assert done["space_freed"] == 2 * samples["mp4"].stat().st_size + samples["jpg"].stat().st_size
    assert names(d) == ["camera0_r2.mp4"] and names(d, "snapshots") == ["camera1_new.jpg"]
    assert not (d.rec / "camera0" / "camera0_r0.mp4").exists()
    audit = [l for l in d.log_lines() if l.get("audit") == "retention_delete"]
    assert sorted(l["filename"] for l in audit) == ["camera0_r0.mp4", "camera0_r1.mp4", "camera1_s.jpg"]
    assert result(d, "cleanup_old_files")["files_deleted"] == 0
    # Role and parameter rules of the methods.
    assert call(d, "cleanup_old_files", {}, role="operator")["error"]["code"] == -32002
    assert call(d, "set_retention_policy", {"policy_type": "age", "enabled": True})["error"]["data"]["param"] == "max_age_days"


def test_retention_by_size_periodic_and_persisted_across_restarts(make_store, samples):
    now = time.time()
    d = make_store(start=False, retention={"interval": "300ms"})
    size = samples["mp4"].stat().st_size
    for i in range(6):
        place(d, samples, "recordings", "camera0", f"camera0_2025-10-0{i + 1}_08-00-00.mp4", "mp4", mtime=now - (10 - i) * 3600)
    d.start()
    assert result(d, "cleanup_old_files", {"dry_run": True})["message"].startswith("retention policy disabled")
    limit_gb = (size * 3.5) / 1e9  # room for three files
    result(d, "set_retention_policy", {"policy_type": "size", "enabled": True, "max_size_gb": limit_gb})
    # The periodic pass applies it: the oldest go until the store is under the limit.
    wait_for(lambda: len(names(d)) == 3, "periodic size retention")
    assert names(d) == [f"camera0_2025-10-0{i}_08-00-00.mp4" for i in (6, 5, 4)]
    assert result(d, "get_storage_info")["recordings_size"] == 3 * size
    d.end()
    # Restarted: the policy is the catalogue's (not plugins.yaml's default), and files added
    # while the daemon was down are seen and trimmed.
    for i in range(7, 9):
        place(d, samples, "recordings", "camera0", f"camera0_2025-10-0{i}_08-00-00.mp4", "mp4", mtime=now - (10 - i) * 3600)
    d.start()
    p = call(d, "cleanup_old_files", {"dry_run": True})["result"]
    wait_for(lambda: len(names(d)) == 3, "retention after restart")
    assert names(d) == [f"camera0_2025-10-0{i}_08-00-00.mp4" for i in (8, 7, 6)]
    assert p["cleanup_executed"] is False
    db = sqlite3.connect(d.tmp / "data" / "file-store.sqlite")
    stored = json.loads(db.execute("SELECT value FROM settings WHERE key = 'retention_policy'").fetchone()[0])
    db.close()
    assert stored["policy_type"] == "size" and stored["enabled"] is True and abs(stored["max_size_gb"] - limit_gb) < 1e-12


def test_retention_policy_from_config_until_set(make_store, samples):
    d = make_store(retention={"policy_type": "age", "enabled": True, "max_age_days": 7, "interval": "1h"})
    place(d, samples, "recordings", "camera0", "camera0_old.mp4", "mp4", mtime=time.time() - 8 * 86400)
    wait_for(lambda: names(d), "file listed")
    dry = result(d, "cleanup_old_files", {"dry_run": True})
    assert [f["filename"] for f in dry["files"]] == ["camera0_old.mp4"]
    result(d, "set_retention_policy", {"policy_type": "manual", "enabled": False})
    d.end()
    d.start()
    assert result(d, "cleanup_old_files")["files_deleted"] == 0 and names(d) == ["camera0_old.mp4"]


def test_a_deleted_or_corrupt_catalogue_is_rebuilt(make_store, samples):
    d = make_store(start=False)
    for i in range(3):
        place(d, samples, "recordings", "camera0", f"camera0_2025-10-0{i + 1}_08-00-00.mp4", "mp4")
    d.start()
    assert len(names(d)) == 3
    db = d.tmp / "data" / "file-store.sqlite"
    assert db.exists()
    d.end()
    for suffix in ["", "-wal", "-shm"]:
        Path(str(db) + suffix).unlink(missing_ok=True)
    d.start()
    assert len(names(d)) == 3 and db.exists()
    rebuilt = [l for l in d.log_lines() if "not found beside 3 files: rebuilt" in l.get("msg", "")]
    assert rebuilt and rebuilt[-1]["level"] == "warning"
    d.end()
    db.write_bytes(b"this is not a database" * 1000)
    for suffix in ["-wal", "-shm"]:
        Path(str(db) + suffix).unlink(missing_ok=True)
    d.start()
    assert len(names(d)) == 3
    lines = [l for l in d.log_lines() if "unusable" in l.get("msg", "")]
    assert len(lines) == 1 and lines[0]["level"] == "warning"
    assert list(db.parent.glob("file-store.sqlite.bad-*"))


def test_an_unopenable_catalogue_still_serves_the_files(make_store, samples):
    d = make_store(start=False, catalog="busy.sqlite")
    (d.tmp / "data" / "busy.sqlite").mkdir(parents=True)  # not a file: not corruption, never moved aside
    place(d, samples, "recordings", "camera0", "camera0_2025-10-01_08-00-00.mp4", "mp4")
    d.start()
    assert names(d) == ["camera0_2025-10-01_08-00-00.mp4"]
    assert (d.tmp / "data" / "busy.sqlite").is_dir()
    assert any(l["level"] == "error" and "in memory" in l.get("msg", "") for l in d.log_lines())


def test_a_catalogue_deleted_under_the_running_daemon_is_rebuilt(make_store, samples):
    d = make_store(rescan_interval="300ms")
    place(d, samples, "recordings", "camera0", "camera0_2025-10-01_08-00-00.mp4", "mp4")
    wait_for(lambda: names(d), "file listed")
    result(d, "set_retention_policy", {"policy_type": "age", "enabled": False, "max_age_days": 9})
    db = d.tmp / "data" / "file-store.sqlite"
    for suffix in ["", "-wal", "-shm"]:
        Path(str(db) + suffix).unlink(missing_ok=True)
    wait_for(lambda: db.exists() and any("was deleted" in l.get("msg", "") for l in d.log_lines()), "catalogue rebuilt")
    assert names(d) == ["camera0_2025-10-01_08-00-00.mp4"]
    d.end()
    d.start()
    assert names(d) == ["camera0_2025-10-01_08-00-00.mp4"]
    assert call(d, "cleanup_old_files", {"dry_run": True})["result"]["message"].startswith("retention policy disabled")


def test_bad_configuration_is_refused(daemon_factory):
    for cfg in [{"warn_threshold": 95, "block_threshold": 90}, {"block_threshold": 120}, {"retention": {"policy_type": "sometimes"}},
                {"unknown_key": 1}]:
        d = daemon_factory(plugins=DEFAULT_PLUGINS + [{"name": "file_store", "library": "FileStore", "required": True, "config": cfg}])
        d.expect_end(exit_code=2).start(wait=False)
        assert d.wait_exit() == 2, cfg
        assert "file_store" in d.log_text()


def test_file_methods_without_the_plugin_are_unsupported(daemon):
    r = call(daemon, "list_recordings")
    assert r["error"]["code"] == -32030 and r["error"]["data"]["feature"] == "storage_provider"
    assert get(daemon, "/files/recordings/x.mp4", bearer())[0] == 404


def test_retention_skips_the_file_being_recorded(make_store, samples):
    """With FFmpegCapture recording: the segment being written is listed in use, cannot be
    deleted (-32020, state recording), and retention by size and age never removes it; once
    the recording stops it is catalogued with its duration and may go. -32060 when the store
    is at the block threshold."""
    d = make_store(usage=50, check_interval="100ms")
    d.end()
    d.plugins_path.write_text(json.dumps({"plugins": store_plugin() + [{"name": "ffmpeg_capture", "library": "FFmpegCapture"}]}))
    d.start()
    old = place(d, samples, "recordings", "test_cam0", "test_cam0_2020-01-01_00-00-00.mp4", "mp4", mtime=time.time() - 90 * 86400)
    started = result(d, "start_recording", {"device": "test_cam0", "format": "mp4"}, role="operator")
    live = started["filename"]
    wait_for(lambda: any(f["filename"] == live and f["in_use"] for f in result(d, "list_recordings")["files"]), "live file listed in use")
    r = call(d, "delete_recording", {"filename": live})
    assert r["error"]["code"] == -32020 and r["error"]["data"]["state"] == "recording"
    result(d, "set_retention_policy", {"policy_type": "size", "enabled": True, "max_size_gb": 1e-9})
    done = result(d, "cleanup_old_files")
    assert [f["filename"] for f in done["files"]] == [old.name]
    result(d, "set_retention_policy", {"policy_type": "age", "enabled": True, "max_age_days": 0})
    assert live not in [f["filename"] for f in result(d, "cleanup_old_files")["files"]]
    result(d, "stop_recording", {"device": "test_cam0"}, role="operator")
    info = wait_for(lambda: (i := result(d, "get_recording_info", {"filename": live}))["duration"] and i, "finished file probed")
    assert info["in_use"] is False and info["file_size"] > 0
    # What the capture engine wrote downloads whole and in ranges, byte for byte.
    on_disk = (d.rec / "test_cam0" / live).read_bytes()
    status, headers, body = get(d, info["download_url"], bearer())
    assert status == 200 and body == on_disk and headers["content-type"] == "video/mp4"
    status, headers, tail = get(d, info["download_url"], {**bearer(), "Range": "bytes=-100"})
    assert status == 206 and tail == on_disk[-100:] and headers["content-range"] == f"bytes {len(on_disk) - 100}-{len(on_disk) - 1}/{len(on_disk)}"
    assert [f["filename"] for f in result(d, "cleanup_old_files")["files"]] == [live]
    set_usage(d, 95)
    time.sleep(0.3)
    r = call(d, "start_recording", {"device": "test_cam0"}, role="operator")
    assert r["error"]["code"] == -32060 and r["error"]["data"]["usage_percentage"] == 95


def test_crossing_the_block_threshold_ends_a_recording(make_store):
    """FileStore and FFmpegCapture together: a recording running when the filesystem crosses the
    block threshold ends cleanly (ERROR, storage_full) with a playable file, storage.warning says
    so once, and no FFmpeg is left writing."""
    d = make_store(usage=50, check_interval="100ms", start=False)
    d.plugins_path.write_text(json.dumps({"plugins": store_plugin(check_interval="100ms") + [
        {"name": "ffmpeg_capture", "library": "FFmpegCapture", "config": {"segment_duration": 2}}]}))
    d.start()

    async def go():
        c = await Client.open(d.url, "operator")
        await c.call("subscribe_events", {"topics": ["storage.warning", "recording.stop"]})
        started = (await c.call("start_recording", {"device": "test_cam0", "format": "mkv"}))["result"]
        await asyncio.sleep(2.5)
        set_usage(d, 95)
        notes = []
        while not any(n["method"] == "recording.stop" for n in notes):
            notes.append(await c.note(15))
        refused = await c.call("start_recording", {"device": "test_cam0"})
        return started, notes, refused
    started, notes, refused = asyncio.run(go())
    stop = next(n for n in notes if n["method"] == "recording.stop")["params"]
    warnings = [n["params"] for n in notes if n["method"] == "storage.warning"]
    assert stop["cause"] == "storage_full" and stop["status"] == "ERROR" and stop["files"]
    assert len(warnings) == 1 and warnings[0]["level"] == "critical"
    assert refused["error"]["code"] == -32060
    files = [d.rec / "test_cam0" / f for f in stop["files"]]
    assert all(f.exists() for f in files) and started["filename"] == files[0].name
    for f in files:
        probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries", "stream=nb_read_packets",
                                           "-of", "json", str(f)], capture_output=True, text=True, timeout=30).stdout)
        assert int(probe["streams"][0]["nb_read_packets"]) > 0
    out = subprocess.run(["pgrep", "-f", str(d.rec)], capture_output=True, text=True).stdout
    assert out.strip() == ""
