"""PluginAPI 1.0 through the running daemon, with a fixture plugin that uses each service a
media plugin needs: its own event topics, HTTP routes with roles and streamed bodies, component
health, supervised children (counted, and killed with the daemon), and the HTTP client."""
import asyncio
import http.client
import json
import os
import signal
import subprocess
import time

import pytest

from client import Client
from conftest import DEFAULT_PLUGINS, make_token


@pytest.fixture
def sdk(daemon_factory, fixtures):
    plugins = DEFAULT_PLUGINS + [{"name": "fixture_sdk", "library": str(fixtures / "libFixtureSDKFeatures.so")}]
    return daemon_factory(plugins=plugins).start()


def get(d, path, headers=None, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def bearer(role):
    return {"Authorization": f"Bearer {make_token(role)}"}


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_plugin_topics_are_subscribable_discoverable_and_guarded(sdk):
    async def go():
        op = await Client.open(sdk.url, "operator")
        viewer = await Client.open(sdk.url, "viewer")
        r = await viewer.call("subscribe_events", {"topics": ["fixture_sdk.tick"]})
        assert r["result"]["topics"] == ["fixture_sdk.tick"]
        # A topic above the caller's role is refused, not silently never delivered.
        r = await viewer.call("subscribe_events", {"topics": ["fixture_sdk.secret"]})
        assert r["error"]["code"] == -32002 and r["error"]["data"]["required_role"] == "admin"
        r = await viewer.call("subscribe_events", {"topics": ["other_plugin.tick"]})
        assert r["error"]["code"] == -32602 and r["error"]["data"]["param"] == "topics[0]"
        await op.call("fixture_sdk.emit", {"topic": "fixture_sdk.tick"})
        n = await viewer.note()
        assert n["method"] == "fixture_sdk.tick" and n["params"]["n"] == 1 and "seq" in n["params"]
        # An undeclared topic of someone else is dropped (and logged), never delivered.
        await viewer.call("subscribe_events", {"topics": ["camera.connected"]})
        await op.call("fixture_sdk.emit", {"topic": "undeclared.topic"})
        assert await viewer.no_note(0.3)
        doc = (await viewer.call("rpc.discover"))["result"]
        return doc
    doc = asyncio.run(go())
    events = {e["name"]: e for e in doc["x-events"]}
    assert events["fixture_sdk.tick"]["x-provided-by"] == "fixture_sdk" and events["camera.connected"]["x-provided-by"] == "core"
    assert events["fixture_sdk.secret"]["x-visible-to"] == "admin"
    sub = next(m for m in doc["methods"] if m["name"] == "subscribe_events")
    assert "fixture_sdk.tick" in sub["params"][0]["schema"]["items"]["enum"]
    assert any("undeclared.topic" in l.get("msg", "") for l in sdk.log_lines())


def test_plugin_routes_authenticate_and_stream(sdk, tmp_path):
    # Refusals on a plugin's route: the status, the challenge on a 401, and a JSON body saying why.
    status, headers, body = get(sdk, "/fixture/bytes")
    assert (status, headers["www-authenticate"], headers["content-type"]) == (401, "Bearer", "application/json")
    assert json.loads(body) == {"error": "authentication required (Authorization: Bearer or X-API-Key)"}
    status, headers, body = get(sdk, "/fixture/bytes", {"Authorization": "Bearer nonsense"})
    assert status == 401 and headers["www-authenticate"] == "Bearer" and json.loads(body) == {"error": "invalid credentials"}
    assert "x-caller" not in headers  # the handler never ran
    status, headers, body = get(sdk, "/fixture/bytes", bearer("viewer"))
    assert status == 200 and body == b"hello" and headers["content-length"] == "5" and headers["x-caller"] == "tester"
    status, headers, body = get(sdk, "/fixture/bytes", bearer("viewer"), method="HEAD")
    assert status == 200 and body == b"" and headers["content-length"] == "5"
    status, headers, body = get(sdk, "/fixture-admin/", bearer("operator"))
    assert status == 403 and "www-authenticate" not in headers and headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": "/fixture-admin/ needs role admin; you are operator"}
    assert get(sdk, "/fixture-admin/", bearer("admin"))[0] == 200
    # A produced body of unknown length: chunked transfer encoding.
    status, headers, body = get(sdk, "/fixture/stream?n=4", bearer("viewer"))
    assert status == 200 and headers["transfer-encoding"] == "chunked" and body == b"chunk 3\nchunk 2\nchunk 1\nchunk 0\n"
    # A file body, streamed from disk (5 MB, never whole in memory).
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(5 << 20))
    status, headers, body = get(sdk, f"/fixture/file?path={big}", bearer("viewer"))
    assert status == 200 and int(headers["content-length"]) == 5 << 20 and body == big.read_bytes()
    # Keep-alive still works after a streamed body: two requests on one connection.
    c = http.client.HTTPConnection("127.0.0.1", sdk.port, timeout=5)
    for _ in range(2):
        c.request("GET", "/fixture/stream?n=2", headers=bearer("viewer"))
        r = c.getresponse()
        assert r.read() == b"chunk 1\nchunk 0\n"
    c.close()


def test_plugin_health_is_listed_and_announced(sdk):
    async def go():
        admin = await Client.open(sdk.url, "admin")
        await admin.call("subscribe_events", {"topics": ["system.health"]})
        await admin.call("fixture_sdk.health", {"status": "degraded"})
        n = await admin.note()
        status = (await admin.call("get_status"))["result"]
        await admin.call("fixture_sdk.health", {"status": "healthy"})
        back = await admin.note()
        # Names that are not the plugin's to report are refused.
        await admin.call("fixture_sdk.health", {"status": "unhealthy", "component": "websocket_server"})
        await admin.call("fixture_sdk.health", {"status": "unhealthy", "component": "jwt_auth"})
        after = (await admin.call("get_status"))["result"]
        return n, status, back, after
    n, status, back, after = asyncio.run(go())
    assert n["method"] == "system.health" and n["params"]["component"] == "fixture_component"
    assert n["params"]["component_status"] == "degraded" and n["params"]["status"] == "degraded" and n["params"]["previous_status"] == "healthy"
    comp = status["components"]["fixture_component"]
    assert status["status"] == "DEGRADED" and comp["status"] == "degraded" and comp["breaker"] == "closed" and "last_checked" in comp
    assert back["params"]["component_status"] == "healthy" and back["params"]["status"] == "healthy"
    assert after["status"] == "HEALTHY" and after["components"]["websocket_server"]["status"] == "healthy"
    assert after["components"]["jwt_auth"]["status"] == "healthy"
    status, _, body = get(sdk, "/health/detailed")
    assert status == 200 and any(c["name"] == "fixture_component" for c in json.loads(body)["components"])


def test_children_are_counted_and_die_with_a_killed_daemon(sdk):
    async def go():
        op = await Client.open(sdk.url, "admin")
        pid = (await op.call("fixture_sdk.spawn", {"seconds": 300}))["result"]
        metrics = (await op.call("get_metrics"))["result"]
        return pid, metrics
    pid, metrics = asyncio.run(go())
    assert alive(pid)
    assert metrics["processes"]["live"] >= 1 and metrics["processes"]["by_plugin"]["fixture_sdk"]["live"] == 1
    status, _, body = get(sdk, "/metrics", bearer("viewer"))
    assert 'camera_service_child_processes{plugin="fixture_sdk"} 1' in body.decode()
    sdk.expect_end(signal=signal.SIGKILL)
    sdk.proc.send_signal(signal.SIGKILL)  # no chance to clean up: PR_SET_PDEATHSIG does it
    sdk.proc.wait()
    for _ in range(50):
        if not alive(pid):
            break
        time.sleep(0.05)
    assert not alive(pid)


def test_children_are_stopped_on_graceful_shutdown(sdk):
    async def go():
        op = await Client.open(sdk.url, "admin")
        return (await op.call("fixture_sdk.spawn", {"seconds": 300}))["result"]
    pid = asyncio.run(go())
    assert sdk.stop() == 0
    assert not alive(pid)


def test_the_sdk_http_client_reaches_a_server_and_reports_failures(sdk):
    async def go():
        op = await Client.open(sdk.url, "operator")
        ok = await op.call("fixture_sdk.fetch", {"base": sdk.http, "path": "/health/live"})
        refused = await op.call("fixture_sdk.fetch", {"base": "http://127.0.0.1:9", "path": "/"})
        return ok, refused
    ok, refused = asyncio.run(go())
    assert ok["result"]["status"] == 200 and json.loads(ok["result"]["body"]) == {"alive": True}
    assert refused["error"]["code"] == -32050 and "127.0.0.1:9" in refused["error"]["data"]["detail"]
