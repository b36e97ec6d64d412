"""Conformance tests of the MediaMTX v3 API and media behaviour the camera daemon relies on.

By default they run against the stand-in (standin.py); with MEDIAMTX_BIN=/path/to/mediamtx they run,
unchanged, against the real server, so every expectation here is one about MediaMTX v1.20.1 itself.
A few tests need the stand-in's /_stub control and are skipped against the real server.

    .venv/bin/python -m pytest Tests/mediamtx -q
    MEDIAMTX_BIN=~/bin/mediamtx .venv/bin/python -m pytest Tests/mediamtx -q

Every request body a test sends is recorded and, at the end, validated against the OpenAPI spec
(openapi_check.validate_request) - the model for the daemon's own tests.
"""
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
import uuid

import pytest

import mtx_server
from mtx_server import MediaMTX
from openapi_check import validate_request

HERE = os.path.dirname(os.path.abspath(__file__))
REAL = mtx_server.real_binary()
SPEC_SHA256 = "f1d35287837e7d0d7e375b5fefba1bb6578b7ea32ca082b7003f6bc333593b08"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
PATH_KEYS = ["name", "confName", "ready", "readyTime", "available", "availableTime", "online", "onlineTime",
             "source", "tracks", "tracks2", "readers", "inboundBytes", "outboundBytes", "inboundFramesInError",
             "bytesReceived", "bytesSent"]
FFMPEG_PUBLISH = ("ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc=size=320x240:rate=15 -pix_fmt yuv420p "
                  "-c:v libx264 -preset ultrafast -tune zerolatency -g 15 -f rtsp -rtsp_transport tcp")
ON_DEMAND_CMD = ("ffmpeg -re -f lavfi -i testsrc=size=320x240:rate=15 -pix_fmt yuv420p -c:v libx264 -preset ultrafast "
                 "-tune zerolatency -g 15 -f rtsp -rtsp_transport tcp rtsp://127.0.0.1:$RTSP_PORT/$MTX_PATH")

SENT = []  # (method, path, body, spec_valid): spec_valid True / False / None (no opinion)

stub_only = pytest.mark.skipif(REAL is not None, reason="stand-in only: needs the /_stub test control")


def _media_reason():
    if not (mtx_server.have("ffmpeg") and mtx_server.have("ffprobe")):
        return "ffmpeg/ffprobe not installed"
    if REAL is None:
        ok, why = mtx_server.python_for_standin_ok()
        if not ok:
            return why
    return None


MEDIA_SKIP = _media_reason()
media = pytest.mark.skipif(MEDIA_SKIP is not None, reason=MEDIA_SKIP or "")


# --- client helpers ------------------------------------------------------------------------------

class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


def call(srv, method, path, body=None, spec_valid=True, **kw):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    if path.startswith("/_stub/"):
        spec_valid = None  # test control, not part of the MediaMTX API
    SENT.append((method, path, body or b"", spec_valid))
    return Resp(*srv.request(method, path, body, **kw))


def ok(resp):
    assert resp.status == 200, resp
    assert resp.body == b'{"status":"ok"}', resp
    assert resp.headers["content-type"] == "application/json; charset=utf-8"


def err(resp, status, message):
    assert resp.status == status, resp
    assert resp.headers["content-type"] == "application/json; charset=utf-8", resp.headers
    assert resp.json == {"status": "error", "error": message}, resp
    assert list(resp.json) == ["status", "error"]


def plain404(resp):
    assert resp.status == 404, resp
    assert resp.body == b"404 page not found"
    assert resp.headers["content-type"].startswith("text/plain")


def eventually(fn, timeout=8.0, interval=0.05):
    """Call fn until it returns a truthy value without raising; MediaMTX applies config asynchronously."""
    deadline = time.time() + timeout
    last = None
    while True:
        try:
            value = fn()
            if value:
                return value
            last = AssertionError("condition still false: %r" % (value,))
        except (AssertionError, KeyError, IndexError, OSError) as e:
            last = e
        if time.time() > deadline:
            raise last
        time.sleep(interval)


def enc(name):
    """A path name in a URL: "/" stays, regex characters are escaped."""
    return urllib.parse.quote(name, safe="/~")


def add(srv, name, body=None):
    ok(call(srv, "POST", "/v3/config/paths/add/" + enc(name), body if body is not None else {}))


def runtime(srv, name):
    r = call(srv, "GET", "/v3/paths/get/" + name)
    return r.json if r.status == 200 else None


def processes():
    """{pid: argv} of the processes alive now."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    argv = [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
                with open("/proc/%s/stat" % entry) as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        continue
            except OSError:
                continue
            if argv:
                out[int(entry)] = argv
    return out


def procs_with(marker):
    return [pid for pid, argv in processes().items() if any(marker in a for a in argv)]


def ended_hook(mtx, path, kind):
    """The stand-in's record of path's `kind` hook (runOnInit, runOnDemand...) once the kernel has
    reported its exit.

    /proc runs ahead of that report: a process's cmdline empties (and a multi-threaded leader shows
    as a zombie) while its threads are still exiting, and waitid reports the exit only after the last
    one. So a test that saw the process leave /proc waits here for `running` to turn false."""
    return eventually(lambda: [h for h in call(mtx, "GET", "/_stub/hooks").json
                               if h["path"] == path and h["kind"] == kind and not h["running"]])[0]


# --- fixtures ---------------------------------------------------------------------------------------

def test_real_server_variant():
    """Reports (as a skip) when the real-MediaMTX variant of this suite is not being run."""
    if REAL is None:
        pytest.skip("real-MediaMTX variant skipped: MEDIAMTX_BIN is not set; set it to a mediamtx v1.20.x binary to "
                    "run every test of this file against the real server instead of the stand-in")
    assert os.access(REAL, os.X_OK), "MEDIAMTX_BIN=%s is not executable" % REAL


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = MediaMTX(tmp_path_factory.mktemp("mtx"), env={"MTX_TEST_MARK": "mark-42"})
    srv.start()
    yield srv
    code = srv.stop()
    if srv.is_standin:
        assert code == 0, "stand-in exit code %s; log:\n%s" % (code, srv.log_text()[-3000:])


@pytest.fixture
def mtx(server):
    """The module's server, as after a fresh start without config file."""
    server.restart()
    return server


@pytest.fixture
def procs():
    started = []

    def spawn(argv, **kw):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=kw.pop("stderr", subprocess.DEVNULL), start_new_session=True, **kw)
        started.append(p)
        return p
    yield spawn
    for p in started:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in started:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def publish(srv, name, procs, transport="tcp"):
    cmd = FFMPEG_PUBLISH.replace("-rtsp_transport tcp", "-rtsp_transport " + transport).split()
    return procs(cmd + [srv.publish_url(name)], stderr=subprocess.PIPE)


def wait_ready(srv, name, timeout=10):
    return eventually(lambda: (runtime(srv, name) or {}).get("ready") and runtime(srv, name), timeout)


def ffprobe(url, timeout=25):
    r = subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries",
                        "stream=codec_name,width,height", "-of", "json", url],
                       capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


# --- basics --------------------------------------------------------------------------------------

def test_spec_copy_is_byte_identical():
    with open(os.path.join(HERE, "mediamtx-openapi.yaml"), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == SPEC_SHA256


def test_info(mtx):
    r = call(mtx, "GET", "/v3/info")
    assert r.status == 200
    assert list(r.json) == ["version", "started"]
    if mtx.is_standin:
        assert r.json["version"] == "v1.20.1"
    assert re.match(r"^v\d+\.\d+\.\d+", r.json["version"])
    assert RFC3339.match(r.json["started"]), r.json


def test_headers_and_keep_alive(mtx):
    conn = mtx.connection()
    try:
        for _ in range(3):
            r = Resp(*mtx.request("GET", "/v3/info", conn=conn))
            assert r.status == 200
        SENT.append(("GET", "/v3/info", b"", True))
    finally:
        conn.close()
    assert r.headers["server"] == "mediamtx"
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["content-type"] == "application/json; charset=utf-8"


def test_unknown_route_and_wrong_method_are_plain_404(mtx):
    plain404(call(mtx, "GET", "/v3/nope", spec_valid=None))
    plain404(call(mtx, "GET", "/v2/paths/list", spec_valid=None))
    plain404(call(mtx, "POST", "/v3/info", spec_valid=None))
    plain404(call(mtx, "DELETE", "/v3/config/paths/list", spec_valid=None))
    plain404(call(mtx, "GET", "/v3/config/paths/add/cam1", spec_valid=None))
    plain404(call(mtx, "PUT", "/v3/config/paths/patch/cam1", {}, spec_valid=None))


def test_trailing_slash_is_redirected(mtx):
    r = call(mtx, "GET", "/v3/info/", spec_valid=None)
    assert r.status == 301 and r.headers["location"] == "/v3/info"
    r = call(mtx, "GET", "/v3/config/paths/get", spec_valid=None)
    assert r.status == 301 and r.headers["location"] == "/v3/config/paths/get/"
    r = call(mtx, "DELETE", "/v3/config/paths/delete", spec_valid=None)
    assert r.status == 307 and r.headers["location"] == "/v3/config/paths/delete/"


def test_cors_preflight(mtx):
    r = call(mtx, "OPTIONS", "/v3/config/paths/add/cam1", spec_valid=None,
             headers={"Access-Control-Request-Method": "POST", "Origin": "http://example.com"})
    assert r.status == 204
    assert r.headers["access-control-allow-methods"] == "OPTIONS, GET, POST, PATCH, DELETE"
    assert r.headers["access-control-allow-headers"] == "Authorization, Content-Type"


def test_empty_name_is_invalid_name(mtx):
    for method, route, body in [("GET", "/v3/paths/get/", None), ("GET", "/v3/config/paths/get/", None),
                                ("POST", "/v3/config/paths/add/", {}), ("PATCH", "/v3/config/paths/patch/", {}),
                                ("POST", "/v3/config/paths/replace/", {}),
                                ("DELETE", "/v3/config/paths/delete/", None)]:
        err(call(mtx, method, route, body, spec_valid=None), 400, "invalid name")


def test_ok_and_error_envelopes(mtx):
    ok(call(mtx, "POST", "/v3/config/paths/add/cam1", {}))
    err(call(mtx, "POST", "/v3/config/paths/add/cam1", {}), 400, "path already exists")
    err(call(mtx, "GET", "/v3/config/paths/get/nope"), 404, "path configuration not found")
    err(call(mtx, "GET", "/v3/paths/get/nope"), 404, "path not found")
    err(call(mtx, "PATCH", "/v3/config/paths/patch/nope", {}), 404, "path not found")
    err(call(mtx, "DELETE", "/v3/config/paths/delete/nope"), 404, "path not found")


# --- strict decoding -------------------------------------------------------------------------------

@pytest.mark.parametrize("body, message", [
    ('{"foo": 1}', 'json: unknown field "foo"'),
    ('{"forward": [{"dest": "rtsp://127.0.0.1:9/x", "bad": 1}]}', 'json: unknown field "forward[0].bad"'),
    ('{"record": "yes"}', "json: cannot unmarshal string into Go value of type bool"),
    ('{"maxReaders": "5"}', "json: cannot unmarshal string into Go value of type int"),
    ('{"maxReaders": 1.5}', "json: cannot unmarshal number 1.5 into Go value of type int"),
    ('{"source": 1}', "json: cannot unmarshal number into Go value of type string"),
    ('{"rtspUDPSourcePortRange": "x"}', "json: cannot unmarshal string into Go value of type []uint"),
    ('{"runOnDemandStartTimeout": 10}', "json: cannot unmarshal number into Go value of type string"),
    ('{"recordFormat": 1}', "json: cannot unmarshal number into Go value of type conf.alias"),
    ("", "unexpected end of JSON input"),
    ("{", "unexpected end of JSON input"),
    ('{"record": }', "invalid character '}' looking for beginning of value"),
    ("{} x", "invalid character 'x' after top-level value"),
    ("[]", "json: cannot unmarshal array into Go value of type map[string]json.RawMessage"),
    ('{"recordDeleteAfter": "x"}', 'time: invalid duration "x"'),
    ('{"recordDeleteAfter": "10"}', 'time: missing unit in duration "10"'),
    ('{"recordDeleteAfter": "5y"}', 'time: unknown unit "y" in duration "5y"'),
    ('{"recordFormat": "avi"}', "invalid record format 'avi'"),
    ('{"recordMaxPartSize": "big"}', "byte quantity must be a positive integer with a unit of measurement like "
                                     "M, MB, MiB, G, GiB, or GB"),
])
def test_strict_decoding(mtx, body, message):
    valid = None if body in ('{"recordDeleteAfter": "x"}', '{"recordDeleteAfter": "10"}',
                             '{"recordDeleteAfter": "5y"}', '{"recordMaxPartSize": "big"}') else False
    err(call(mtx, "POST", "/v3/config/paths/add/cam1", body, spec_valid=valid), 400, message)
    # decoding comes first: a bad body on a missing path is still a 400, not a 404
    err(call(mtx, "PATCH", "/v3/config/paths/patch/missing", body, spec_valid=valid), 400, message)
    err(call(mtx, "PATCH", "/v3/config/pathdefaults/patch", body, spec_valid=valid), 400, message)


def test_null_and_empty_object_bodies_are_accepted(mtx):
    ok(call(mtx, "POST", "/v3/config/paths/add/cam1", "null", spec_valid=None))
    ok(call(mtx, "POST", "/v3/config/paths/add/cam2", "{}"))
    ok(call(mtx, "PATCH", "/v3/config/paths/patch/cam2", '{"record": null}', spec_valid=None))


# --- validation ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, message", [
    ("bad%20name", "invalid path name 'bad name': can contain only alphanumeric characters, underscore, dot, "
                   "minus, slash"),
    ("a:b", "invalid path name 'a:b': can contain only alphanumeric characters, underscore, dot, minus, slash"),
    ("/lead", "invalid path name '/lead': can't begin with a slash"),
    ("trail/", "invalid path name 'trail/': can't end with a slash"),
    ("a/../b", "invalid path name 'a/../b': can't contain dot path segments"),
    ("~%5Ecam%5B", "invalid regular expression: ^cam["),
])
def test_invalid_path_names(mtx, name, message):
    err(call(mtx, "POST", "/v3/config/paths/add/" + name, {}), 400, message)


@pytest.mark.parametrize("body, message", [
    ({"source": "foo"}, "invalid source: 'foo'"),
    ({"sourceOnDemand": True}, "'sourceOnDemand' is useless when source is 'publisher'"),
    ({"source": "rtsp://127.0.0.1:9/x", "sourceOnDemand": True, "runOnDemand": "true"},
     "'runOnDemand' and 'runOnUnDemand' can be used only when source is 'publisher'"),
    ({"recordPath": "./rec/%Y-%m-%d_%H-%M-%S"}, "'recordPath' must contain %path"),
    ({"recordPath": "./rec/%path/%Y"}, "'recordPath' must contain either %s or %Y %m %d %H %M %S"),
    ({"recordDeleteAfter": "30m"}, "'recordDeleteAfter' cannot be lower than 'recordSegmentDuration'"),
    ({"recordSegmentDuration": "25h"}, "maximum segment duration is 1 day"),
    ({"source": "redirect"}, "source redirect must be filled"),
    ({"sourceRedirect": "rtsp://127.0.0.1:9/x"}, "'sourceRedirect' is useless when source is not 'redirect'"),
])
def test_path_validation(mtx, body, message):
    err(call(mtx, "POST", "/v3/config/paths/add/cam1", body), 400, message)
    err(call(mtx, "GET", "/v3/config/paths/get/cam1"), 404, "path configuration not found")


def test_run_on_init_is_refused_on_regex_names(mtx):
    message = ("a path with a regular expression (or path 'all_others') does not support option 'runOnInit'; "
               "use another path")
    err(call(mtx, "POST", "/v3/config/paths/add/" + enc("~^cam[0-9]+$"), {"runOnInit": "true"}), 400, message)
    err(call(mtx, "POST", "/v3/config/paths/add/all_others", {"runOnInit": "true"}), 400, message)
    ok(call(mtx, "POST", "/v3/config/paths/add/" + enc("~^cam[0-9]+$"), {"runOnDemand": "true"}))
    ok(call(mtx, "POST", "/v3/config/paths/add/all_others", {}))
    err(call(mtx, "POST", "/v3/config/paths/add/all", {}), 400, "all_others, all and '~^.*$' are aliases")


def test_valid_bodies_are_accepted(mtx):
    add(mtx, "cam1", {"runOnDemand": "true", "runOnDemandStartTimeout": "5s", "runOnDemandCloseAfter": "2s"})
    add(mtx, "cam2", {"recordPath": "./rec/%path/%s", "recordDeleteAfter": "0s"})
    add(mtx, "cam3", {"source": "rtsp://127.0.0.1:9/x", "sourceOnDemand": True})
    add(mtx, "cam4", {"source": "redirect", "sourceRedirect": "rtsp://127.0.0.1:9/x"})


# --- config reads ---------------------------------------------------------------------------------------

def _spec_keys(schema):
    import miniyaml
    props = miniyaml.load(os.path.join(HERE, "mediamtx-openapi.yaml"))["components"]["schemas"][schema]["properties"]
    return {k for k, v in props.items() if not (v.get("deprecated") and v.get("nullable"))}


def test_config_get_is_the_merged_object(mtx):
    add(mtx, "cams/front", {"recordDeleteAfter": "48h", "runOnDemandCloseAfter": "1m30s", "maxReaders": 3})
    conf = eventually(lambda: call(mtx, "GET", "/v3/config/paths/get/cams/front").json)
    assert set(conf) == _spec_keys("PathConf")
    assert conf["name"] == "cams/front"
    assert conf["source"] == "publisher"
    assert conf["maxReaders"] == 3
    assert conf["recordDeleteAfter"] == "2d"
    assert conf["runOnDemandCloseAfter"] == "1m30s"
    assert conf["runOnDemandStartTimeout"] == "10s"
    assert conf["recordSegmentDuration"] == "1h0m0s"
    assert conf["recordPartDuration"] == "1s"
    assert conf["recordMaxPartSize"] == "50M"
    assert conf["recordFormat"] == "fmp4"
    assert conf["overridePublisher"] is True
    assert conf["rtspUDPSourcePortRange"] == [32768, 60999]
    assert conf["rpiCameraAWBGains"] == [0, 0]
    defaults = call(mtx, "GET", "/v3/config/pathdefaults/get").json
    assert set(defaults) == _spec_keys("PathConf")
    assert defaults["name"] == ""
    for key in defaults:
        if key not in ("name", "recordDeleteAfter", "runOnDemandCloseAfter", "maxReaders"):
            assert conf[key] == defaults[key], key


def test_zero_duration_is_rendered_empty(mtx):
    add(mtx, "cam1", {"recordDeleteAfter": "0s"})
    assert eventually(lambda: call(mtx, "GET", "/v3/config/paths/get/cam1").json)["recordDeleteAfter"] == ""


def test_deprecated_keys_appear_only_when_set(mtx):
    add(mtx, "cam1", {"runOnReady": "true"})
    conf = eventually(lambda: call(mtx, "GET", "/v3/config/paths/get/cam1").json)
    assert conf["runOnReady"] == "true"
    assert conf["runOnAvailable"] == "true"    # mapped onto the new key by validation
    assert "runOnNotReady" not in conf and "fallback" not in conf


def test_patch_replace_delete(mtx):
    add(mtx, "cam1", {"maxReaders": 2, "runOnDemandCloseAfter": "3s"})
    ok(call(mtx, "PATCH", "/v3/config/paths/patch/cam1", {"maxReaders": 4}))
    conf = eventually(lambda: (lambda c: c["maxReaders"] == 4 and c)(
        call(mtx, "GET", "/v3/config/paths/get/cam1").json))
    assert conf["runOnDemandCloseAfter"] == "3s"
    ok(call(mtx, "POST", "/v3/config/paths/replace/cam1", {"maxReaders": 7}))
    conf = eventually(lambda: (lambda c: c["maxReaders"] == 7 and c)(
        call(mtx, "GET", "/v3/config/paths/get/cam1").json))
    assert conf["runOnDemandCloseAfter"] == "10s"      # back to pathDefaults
    ok(call(mtx, "POST", "/v3/config/paths/replace/newcam", {}))   # replace creates (spec says 404)
    eventually(lambda: call(mtx, "GET", "/v3/config/paths/get/newcam").status == 200)
    ok(call(mtx, "DELETE", "/v3/config/paths/delete/cam1"))
    eventually(lambda: call(mtx, "GET", "/v3/config/paths/get/cam1").status == 404)
    err(call(mtx, "DELETE", "/v3/config/paths/delete/cam1"), 404, "path not found")


def test_pathdefaults_patch_reaches_every_path(mtx):
    add(mtx, "cam1", {})
    ok(call(mtx, "PATCH", "/v3/config/pathdefaults/patch", {"runOnDemandCloseAfter": "5s"}))
    eventually(lambda: call(mtx, "GET", "/v3/config/pathdefaults/get").json["runOnDemandCloseAfter"] == "5s")
    eventually(lambda: call(mtx, "GET", "/v3/config/paths/get/cam1").json["runOnDemandCloseAfter"] == "5s")


def test_global_get_and_patch(mtx):
    g = call(mtx, "GET", "/v3/config/global/get").json
    assert set(g) == _spec_keys("GlobalConf")
    assert g["api"] is True and g["rtsp"] is True
    assert g["apiAddress"] == "127.0.0.1:%d" % mtx.api_port
    assert g["readTimeout"] == "10s" and g["writeQueueSize"] == 512
    ok(call(mtx, "PATCH", "/v3/config/global/patch", {"logLevel": "debug", "writeTimeout": "15s"}))
    eventually(lambda: call(mtx, "GET", "/v3/config/global/get").json["logLevel"] == "debug")
    assert call(mtx, "GET", "/v3/config/global/get").json["writeTimeout"] == "15s"
    err(call(mtx, "PATCH", "/v3/config/global/patch", {"logLevel": "loud"}, spec_valid=False), 400,
        "invalid log level: 'loud'")
    err(call(mtx, "PATCH", "/v3/config/global/patch", {"paths": {}}, spec_valid=False), 400,
        'json: unknown field "paths"')
    err(call(mtx, "PATCH", "/v3/config/global/patch", {"readTimeout": "0s"}), 400,
        "'readTimeout' must be greater than zero")
    err(call(mtx, "PATCH", "/v3/config/global/patch", {"writeQueueSize": 500}), 400,
        "'writeQueueSize' must be a power of two")


# --- lists and pagination -------------------------------------------------------------------------------

def test_lists_are_sorted_and_paginated(mtx):
    for name in ("b", "c", "a"):
        add(mtx, name)
    r = eventually(lambda: (lambda j: j["itemCount"] == 3 and j)(call(mtx, "GET", "/v3/config/paths/list").json))
    assert list(r) == ["itemCount", "pageCount", "items"]
    assert [i["name"] for i in r["items"]] == ["a", "b", "c"] and r["pageCount"] == 1
    r = eventually(lambda: (lambda j: j["itemCount"] == 3 and j)(call(mtx, "GET", "/v3/paths/list").json))
    assert [i["name"] for i in r["items"]] == ["a", "b", "c"]
    for route in ("/v3/config/paths/list", "/v3/paths/list"):
        r = call(mtx, "GET", route + "?itemsPerPage=2").json
        assert (r["itemCount"], r["pageCount"], [i["name"] for i in r["items"]]) == (3, 2, ["a", "b"])
        r = call(mtx, "GET", route + "?itemsPerPage=2&page=1").json
        assert [i["name"] for i in r["items"]] == ["c"]
        r = call(mtx, "GET", route + "?itemsPerPage=2&page=7").json
        assert (r["itemCount"], r["pageCount"], r["items"]) == (3, 2, [])
        err(call(mtx, "GET", route + "?itemsPerPage=0"), 400, "invalid items per page")
        err(call(mtx, "GET", route + "?page=abc"), 400, 'strconv.ParseUint: parsing "abc": invalid syntax')
        err(call(mtx, "GET", route + "?itemsPerPage=-1"), 400, 'strconv.ParseUint: parsing "-1": invalid syntax')
        err(call(mtx, "GET", route + "?page=99999999999"), 400,
            'strconv.ParseUint: parsing "99999999999": value out of range')


def test_empty_lists(mtx):
    for route in ("/v3/config/paths/list", "/v3/paths/list"):
        assert call(mtx, "GET", route).body == b'{"itemCount":0,"pageCount":0,"items":[]}'


# --- runtime path object --------------------------------------------------------------------------------

def test_static_path_is_listed_not_ready(mtx):
    add(mtx, "cam1")
    item = eventually(lambda: runtime(mtx, "cam1"))
    assert list(item) == PATH_KEYS
    assert item == {"name": "cam1", "confName": "cam1", "ready": False, "readyTime": None, "available": False,
                    "availableTime": None, "online": False, "onlineTime": None, "source": None, "tracks": [],
                    "tracks2": [], "readers": [], "inboundBytes": 0, "outboundBytes": 0, "inboundFramesInError": 0,
                    "bytesReceived": 0, "bytesSent": 0}
    assert call(mtx, "GET", "/v3/paths/list").json["items"] == [item]


def test_regex_configs_have_no_runtime_path_until_used(mtx):
    add(mtx, "~^cam[0-9]+$", {})
    eventually(lambda: call(mtx, "GET", "/v3/config/paths/list").json["itemCount"] == 1)
    assert call(mtx, "GET", "/v3/paths/list").json["itemCount"] == 0


def test_url_source_path_shows_its_source_type(mtx):
    add(mtx, "pull", {"source": "rtsp://127.0.0.1:9/x", "sourceOnDemand": True})
    item = eventually(lambda: runtime(mtx, "pull"))
    assert item["source"] == {"type": "rtspSource", "id": ""}
    assert item["ready"] is False and item["readyTime"] is None


# --- media: publish, read, unpublish ------------------------------------------------------------------------

@media
def test_path_lifecycle_with_real_media(mtx, procs):
    add(mtx, "life")
    item = eventually(lambda: runtime(mtx, "life"))
    assert item["ready"] is False and item["source"] is None
    pub = publish(mtx, "life", procs)
    item = wait_ready(mtx, "life")
    assert list(item) == PATH_KEYS
    assert item["available"] is True and item["online"] is True
    assert RFC3339.match(item["readyTime"]) and item["availableTime"] == item["readyTime"]
    assert RFC3339.match(item["onlineTime"])
    assert item["source"]["type"] == "rtspSession" and uuid.UUID(item["source"]["id"])
    assert item["tracks"] == ["H264"]
    assert len(item["tracks2"]) == 1 and item["tracks2"][0]["codec"] == "H264"
    props = item["tracks2"][0]["codecProps"]
    assert (props["width"], props["height"]) == (320, 240)
    assert props["profile"] and props["level"]
    first = item["inboundBytes"]
    reader = procs(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", mtx.read_url("life"),
                    "-f", "null", "-"])
    item = eventually(lambda: (lambda i: len(i["readers"]) == 1 and i)(runtime(mtx, "life")))
    assert item["readers"][0]["type"] == "rtspSession" and uuid.UUID(item["readers"][0]["id"])
    eventually(lambda: runtime(mtx, "life")["outboundBytes"] > 0)
    assert runtime(mtx, "life")["inboundBytes"] > first
    assert runtime(mtx, "life")["bytesReceived"] >= first
    os.killpg(reader.pid, signal.SIGTERM)
    reader.wait(5)
    eventually(lambda: runtime(mtx, "life")["readers"] == [])
    os.killpg(pub.pid, signal.SIGTERM)
    pub.wait(5)
    item = eventually(lambda: (lambda i: not i["ready"] and i)(runtime(mtx, "life")))
    assert item["source"] is None and item["readyTime"] is None and item["tracks"] == [] and item["online"] is False
    ok(call(mtx, "DELETE", "/v3/config/paths/delete/life"))
    eventually(lambda: call(mtx, "GET", "/v3/paths/get/life").status == 404)
    assert call(mtx, "GET", "/v3/paths/list").json["items"] == []
    err(call(mtx, "DELETE", "/v3/config/paths/delete/life"), 404, "path not found")


@media
def test_udp_publisher_and_udp_reader(mtx, procs, tmp_path):
    add(mtx, "udp1")
    publish(mtx, "udp1", procs, transport="udp")
    wait_ready(mtx, "udp1")
    out = tmp_path / "udp.mp4"
    r = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "udp", "-i",
                        mtx.read_url("udp1"), "-t", "2", "-c", "copy", "-y", str(out)], timeout=20,
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    code, outj, _ = ffprobe(str(out))
    assert json.loads(outj)["streams"][0]["codec_name"] == "h264"


@media
def test_rtsp_answers_without_a_stream(mtx):
    add(mtx, "idle")
    eventually(lambda: runtime(mtx, "idle"))
    start = time.time()
    code, _, stderr = ffprobe(mtx.read_url("idle"), timeout=15)
    assert code != 0 and "404 Not Found" in stderr, stderr
    code, _, stderr = ffprobe(mtx.read_url("notconfigured"), timeout=15)
    assert code != 0 and "400 Bad Request" in stderr, stderr
    assert time.time() - start < 10
    assert call(mtx, "GET", "/v3/paths/list").json["itemCount"] == 1


@media
def test_publishing_to_an_unconfigured_name_fails(mtx):
    r = subprocess.run(FFMPEG_PUBLISH.split() + ["-t", "1", mtx.publish_url("nope")], capture_output=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert call(mtx, "GET", "/v3/paths/list").json["itemCount"] == 0


@media
def test_regex_config_accepts_matching_names(mtx, procs):
    add(mtx, "~^cam[0-9]+$")
    pub = publish(mtx, "cam7", procs)
    item = wait_ready(mtx, "cam7")
    assert item["confName"] == "~^cam[0-9]+$" and item["name"] == "cam7"
    os.killpg(pub.pid, signal.SIGTERM)
    pub.wait(5)
    # a regex path exists only while used
    eventually(lambda: call(mtx, "GET", "/v3/paths/get/cam7").status == 404)


@media
def test_all_others(tmp_path, procs):
    srv = MediaMTX(tmp_path, all_others=True).start()
    try:
        r = call(srv, "GET", "/v3/config/paths/list").json
        assert [i["name"] for i in r["items"]] == ["all_others"]
        assert call(srv, "GET", "/v3/paths/list").json["itemCount"] == 0
        publish(srv, "any/name1", procs)
        item = wait_ready(srv, "any/name1")
        assert item["confName"] == "all_others"
    finally:
        srv.stop()


@media
def test_override_publisher_false_refuses_a_second_publisher(mtx, procs):
    add(mtx, "solo", {"overridePublisher": False})
    publish(mtx, "solo", procs)
    first = wait_ready(mtx, "solo")["source"]["id"]
    r = subprocess.run(FFMPEG_PUBLISH.split() + ["-t", "2", mtx.publish_url("solo")], capture_output=True,
                       timeout=20, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert runtime(mtx, "solo")["source"]["id"] == first


@media
def test_delete_kicks_publisher_and_readers(mtx, procs):
    add(mtx, "kick")
    pub = publish(mtx, "kick", procs)
    wait_ready(mtx, "kick")
    reader = procs(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", mtx.read_url("kick"),
                    "-f", "null", "-"])
    eventually(lambda: len(runtime(mtx, "kick")["readers"]) == 1)
    ok(call(mtx, "DELETE", "/v3/config/paths/delete/kick"))
    pub.wait(10)
    reader.wait(10)
    assert call(mtx, "GET", "/v3/paths/get/kick").status == 404


@media
def test_hot_reload_keeps_the_publisher_and_other_changes_recreate_the_path(mtx, procs):
    add(mtx, "hot")
    pub = publish(mtx, "hot", procs)
    first = wait_ready(mtx, "hot")["source"]["id"]
    ok(call(mtx, "PATCH", "/v3/config/paths/patch/hot", {"recordSegmentDuration": "2h"}))
    eventually(lambda: call(mtx, "GET", "/v3/config/paths/get/hot").json["recordSegmentDuration"] == "2h0m0s")
    time.sleep(0.5)
    assert runtime(mtx, "hot")["source"]["id"] == first
    ok(call(mtx, "PATCH", "/v3/config/paths/patch/hot", {"maxReaders": 5}))
    pub.wait(10)   # recreating the path closed the publisher's session
    assert runtime(mtx, "hot")["ready"] is False


# --- hooks ----------------------------------------------------------------------------------------

def _read_when(path, timeout=8):
    return eventually(lambda: open(path).read() if os.path.exists(path) and open(path).read() else None,
                      timeout)


def test_run_on_init_environment_and_expansion(mtx, tmp_path):
    out = tmp_path / "env.txt"
    add(mtx, "hk1", {"runOnInit": "sh -c 'echo \"$MTX_PATH|$RTSP_PATH|$RTSP_PORT|${MTX_PATH}|$MTX_TEST_MARK|"
                                  "$NOPE_UNSET|\" > %s'" % out})
    text = _read_when(out)
    assert text == "hk1|hk1|%d|hk1|mark-42||\n" % mtx.publish_port


def test_run_on_init_stopped_by_process_group_on_delete(mtx):
    marker = "41.%06d" % (uuid.uuid4().int % 10 ** 6)
    add(mtx, "grp", {"runOnInit": "sh -c 'sleep %s; echo never'" % marker})
    shell = eventually(lambda: [p for p, argv in processes().items() if argv[:2] == ["sh", "-c"] and
                                marker in argv[2]])
    child = eventually(lambda: [p for p, argv in processes().items() if argv == ["sleep", marker]])
    if mtx.is_standin:
        hooks = call(mtx, "GET", "/_stub/hooks").json
        run = [h for h in hooks if h["path"] == "grp"][0]
        assert run["kind"] == "runOnInit" and run["running"] and run["argv"][:2] == ["sh", "-c"]
        assert os.getpgid(child[0]) == run["pid"]
    ok(call(mtx, "DELETE", "/v3/config/paths/delete/grp"))
    # SIGINT went to the group: the shell's foreground child died with it
    eventually(lambda: not procs_with(marker), timeout=8)
    if mtx.is_standin:
        run = ended_hook(mtx, "grp", "runOnInit")
        assert run["exitCode"] is not None and not run["killed"] and run["orphans"] == []
    assert shell and child


@stub_only
def test_group_members_left_behind_are_reported(mtx):
    # a background job of a non-interactive shell ignores SIGINT: MediaMTX would leave it running
    marker = "77.%06d" % (uuid.uuid4().int % 10 ** 6)
    add(mtx, "orph", {"runOnInit": "sh -c 'sleep %s & wait'" % marker})
    child = eventually(lambda: [p for p, argv in processes().items() if argv == ["sleep", marker]])
    ok(call(mtx, "DELETE", "/v3/config/paths/delete/orph"))
    run = ended_hook(mtx, "orph", "runOnInit")
    assert run["orphans"] == child and run["stopReason"] == "path destroyed"
    os.kill(child[0], signal.SIGKILL)   # the stand-in would kill it at shutdown


def test_run_on_init_restart(mtx, tmp_path):
    out = tmp_path / "runs.txt"
    add(mtx, "rst", {"runOnInit": "sh -c 'echo run >> %s'" % out, "runOnInitRestart": True})
    _read_when(out)
    start = time.time()
    eventually(lambda: open(out).read().count("run") >= 2, timeout=9)
    assert time.time() - start > 3.5          # restarted after the 5 s pause, not at once


@media
def test_run_on_demand_spawned_by_a_reader(mtx, tmp_path):
    undemand = tmp_path / "undemand.txt"
    name = "od%06d" % (uuid.uuid4().int % 10 ** 6)
    add(mtx, name, {"runOnDemand": ON_DEMAND_CMD, "runOnDemandCloseAfter": "1s",
                    "runOnUnDemand": "sh -c 'echo $MTX_PATH > %s'" % undemand})
    eventually(lambda: runtime(mtx, name))
    code, out, stderr = ffprobe(mtx.read_url(name))
    assert code == 0, stderr
    streams = json.loads(out)["streams"]
    assert streams[0]["codec_name"] == "h264" and (streams[0]["width"], streams[0]["height"]) == (320, 240)
    url_arg = "rtsp://127.0.0.1:%d/%s" % (mtx.publish_port, name)
    if mtx.is_standin:
        run = [h for h in call(mtx, "GET", "/_stub/hooks").json if h["path"] == name][0]
        assert run["kind"] == "runOnDemand" and run["argv"][0] == "ffmpeg" and run["argv"][-1] == url_arg
        assert run["env"]["MTX_PATH"] == name and run["env"]["RTSP_PORT"] == str(mtx.publish_port)
    # after the reader left, runOnDemandCloseAfter later the command is stopped and runOnUnDemand runs
    eventually(lambda: not procs_with(url_arg), timeout=10)
    eventually(lambda: runtime(mtx, name)["ready"] is False)
    assert _read_when(undemand) == name + "\n"
    if mtx.is_standin:
        run = ended_hook(mtx, name, "runOnDemand")
        assert run["stopReason"] == "not needed by anyone"


@media
def test_run_on_demand_start_timeout(mtx):
    marker = "47.%06d" % (uuid.uuid4().int % 10 ** 6)
    add(mtx, "slow", {"runOnDemand": "sleep %s" % marker, "runOnDemandStartTimeout": "1s"})
    eventually(lambda: runtime(mtx, "slow"))
    start = time.time()
    code, _, stderr = ffprobe(mtx.read_url("slow"), timeout=20)
    elapsed = time.time() - start
    assert code != 0 and "400 Bad Request" in stderr, stderr
    assert 0.8 < elapsed < 6, elapsed
    eventually(lambda: not procs_with(marker), timeout=8)
    if mtx.is_standin:
        run = ended_hook(mtx, "slow", "runOnDemand")
        assert run["stopReason"] == "timed out" and run["exitCode"] == -signal.SIGINT


# --- restart, hang, auth, stub ---------------------------------------------------------------------

def test_restart_clears_api_config_and_stops_hooks(mtx):
    marker = "53.%06d" % (uuid.uuid4().int % 10 ** 6)
    before = call(mtx, "GET", "/v3/info").json["started"]
    add(mtx, "cam1", {"runOnInit": "sleep %s" % marker})
    eventually(lambda: procs_with(marker))
    mtx.restart()
    after = call(mtx, "GET", "/v3/info").json["started"]
    assert after != before
    assert call(mtx, "GET", "/v3/config/paths/list").json["itemCount"] == 0
    assert call(mtx, "GET", "/v3/paths/list").json["itemCount"] == 0
    eventually(lambda: not procs_with(marker))


@stub_only
def test_hang_mode(mtx):
    ok_resp = call(mtx, "POST", "/_stub/hang", {"hang": True}, spec_valid=None)
    assert ok_resp.status == 200
    try:
        with pytest.raises((socket.timeout, TimeoutError)):
            mtx.request("GET", "/v3/info", timeout=1)
        assert call(mtx, "GET", "/_stub/hooks", spec_valid=None).status == 200
    finally:
        assert call(mtx, "POST", "/_stub/hang", {"hang": False}, spec_valid=None).status == 200
    assert call(mtx, "GET", "/v3/info").status == 200


@stub_only
def test_stub_records_requests(mtx):
    assert call(mtx, "POST", "/_stub/requests/clear", spec_valid=None).status == 200
    call(mtx, "POST", "/v3/config/paths/add/rec1?x=1", {"record": False}, headers={"X-Test": "yes"})
    entries = call(mtx, "GET", "/_stub/requests", spec_valid=None).json
    assert len(entries) == 1
    e = entries[0]
    assert (e["method"], e["path"], e["query"]) == ("POST", "/v3/config/paths/add/rec1", "x=1")
    assert json.loads(e["body"]) == {"record": False}
    assert ["X-Test", "yes"] in e["headers"]


@stub_only
def test_no_relay_fake_publisher(tmp_path):
    srv = MediaMTX(tmp_path, no_relay=True).start()
    try:
        add(srv, "fake")
        r = call(srv, "POST", "/_stub/publish/fake", {}, spec_valid=None)
        assert r.status == 200
        item = runtime(srv, "fake")
        assert item["ready"] and item["tracks"] == ["H264"] and item["source"]["id"] == r.json["id"]
        assert call(srv, "POST", "/_stub/unpublish/fake", spec_valid=None).status == 200
        assert runtime(srv, "fake")["ready"] is False
    finally:
        assert srv.stop() == 0


def test_basic_auth(tmp_path):
    srv = MediaMTX(tmp_path, api_user="admin", api_pass="s3cret").start()
    try:
        r = call(srv, "GET", "/v3/info")
        err(r, 401, "authentication error")
        assert r.headers["www-authenticate"] == 'Basic realm="mediamtx"'
        r = call(srv, "GET", "/v3/nope", spec_valid=None)       # auth runs before routing
        assert r.status == 401
        start = time.time()
        r = call(srv, "GET", "/v3/info", auth=("admin", "wrong"))
        err(r, 401, "authentication error")
        assert "www-authenticate" not in r.headers
        assert time.time() - start < 8  # the failed-login pause is below 4 s
        assert call(srv, "GET", "/v3/info", auth=("admin", "s3cret")).status == 200
        assert call(srv, "GET", "/v3/info", headers={"Authorization": "Bearer admin:s3cret"}).status == 200
        g = call(srv, "GET", "/v3/config/global/get", auth=("admin", "s3cret"))
        assert b'"pass":"\\u003credacted\\u003e"' in g.body
    finally:
        srv.stop()


# --- the request bodies sent above, against the OpenAPI spec (keep this test last) ---------------

def test_openapi_check_helper():
    assert validate_request("POST", "/v3/config/paths/add/cams/front", b'{"record": true}') == []
    assert validate_request("GET", "/v3/paths/list?page=0", b"") == []
    assert validate_request("POST", "/v3/config/paths/add/x", b'{"recordFormat": "avi"}')
    assert validate_request("POST", "/v3/config/paths/add/x", b'{"unknownKey": 1}')
    assert validate_request("PATCH", "/v3/config/global/patch", b'{"logLevel": "loud"}')
    assert validate_request("POST", "/v3/config/paths/add/x", b"")
    assert validate_request("GET", "/v3/info", b"{}")
    assert validate_request("PUT", "/v3/info", b"")


def test_every_request_body_sent_matches_the_openapi_spec():
    if not SENT:
        pytest.skip("no requests recorded (run the whole file)")
    problems = []
    for method, path, body, spec_valid in SENT:
        if spec_valid is None:
            continue
        errors = validate_request(method, path.split("?")[0], body)
        if spec_valid and errors:
            problems.append(errors)
        if spec_valid is False and not errors:
            problems.append("%s %s %r: expected the spec to reject this body" % (method, path, body))
    assert not problems, problems
