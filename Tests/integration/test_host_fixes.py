"""What a new user met, each fixed (PluginAPI 1.0 issue): check-config runs the plugins' own
checks, expires_at is the token's exp, system.shutdown precedes the 1001 close, the auth
backoff says it is one, GET /ws without an upgrade is 426, and get_server_info reports what
is really provided."""
import asyncio
import json
import signal
import subprocess
import time

import jwt as pyjwt
import websockets

from client import Client
from conftest import BIN, DEFAULT_PLUGINS, SECRET, make_token, rpc_message


def test_check_config_runs_plugin_checks_and_fails_like_start_up(daemon_factory):
    plugins = [{"name": "jwt_auth", "library": "JWTAuth", "required": True, "config": {"secret": "changeme"}}, DEFAULT_PLUGINS[1]]
    d = daemon_factory(plugins=plugins)
    r = subprocess.run([str(BIN), "--config", str(d.config_path), "--check-config"], capture_output=True, text=True, env=d.env, timeout=20)
    assert r.returncode == 2, r.stdout
    assert "plugin jwt_auth: ERROR" in r.stdout and "secret" in r.stdout
    # Starting the same way fails the same way.
    d.expect_end(exit_code=2).start(wait=False)
    assert d.wait_exit() == 2
    # A good configuration passes both.
    good = daemon_factory()
    r = subprocess.run([str(BIN), "--config", str(good.config_path), "--check-config"], capture_output=True, text=True, env=good.env, timeout=20)
    assert r.returncode == 0 and "plugin jwt_auth: OK" in r.stdout and "plugin test_pattern_source: OK" in r.stdout
    # An optional plugin's bad config is a warning, as at start-up.
    bad_optional = daemon_factory(plugins=[DEFAULT_PLUGINS[0], {"name": "test_pattern_source", "library": "TestPatternSource", "config": {"nope": 1}}])
    r = subprocess.run([str(BIN), "--config", str(bad_optional.config_path), "--check-config"], capture_output=True, text=True, env=bad_optional.env, timeout=20)
    assert r.returncode == 0 and "plugin test_pattern_source: WARNING" in r.stdout and "nope" in r.stdout


def test_expires_at_is_the_tokens_own_exp(daemon):
    exp = int(time.time()) + 600
    token = pyjwt.encode({"user_id": "u", "role": "viewer", "iat": int(time.time()), "exp": exp}, SECRET, algorithm="HS256")

    async def go():
        async with websockets.connect(daemon.url) as ws:
            await ws.send(rpc_message("authenticate", {"auth_token": token}))
            return json.loads(await ws.recv())["result"]
    r = asyncio.run(go())
    assert r["expires_at"] == time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(exp))


def test_system_shutdown_reaches_subscribers_before_the_close(daemon):
    async def go():
        ws = await websockets.connect(daemon.url)
        await ws.send(rpc_message("authenticate", {"auth_token": make_token("viewer")}, id=1))
        await ws.recv()
        await ws.send(rpc_message("subscribe_events", {"topics": ["system.shutdown"]}, id=2))
        await ws.recv()
        daemon.proc.send_signal(signal.SIGTERM)
        got = json.loads(await asyncio.wait_for(ws.recv(), 5))
        try:
            await asyncio.wait_for(ws.recv(), 5)
        except websockets.ConnectionClosed as e:
            return got, e.rcvd.code if e.rcvd else None
        raise AssertionError("not closed")
    note, code = asyncio.run(go())
    assert note["method"] == "system.shutdown" and "seq" in note["params"]
    assert code == 1001
    assert daemon.wait_exit() == 0


def test_auth_backoff_says_what_it_is(daemon_factory):
    d = daemon_factory(config={"security": {"rate_limit": {"auth_failures_before_backoff": 2}}}).start()

    async def go():
        async with websockets.connect(d.url) as ws:
            for i in range(2):
                await ws.send(rpc_message("authenticate", {"auth_token": "bad"}, id=i))
                await ws.recv()
            await ws.send(rpc_message("authenticate", {"auth_token": make_token()}, id=9))
            return json.loads(await ws.recv())
    r = asyncio.run(go())
    e = r["error"]
    assert e["code"] == -32040 and e["data"]["reason"] == "auth_backoff" and e["data"]["retry_after_ms"] > 0
    assert "failed authentications" in e["data"]["detail"]


def test_websocket_path_without_upgrade_is_426(daemon):
    r = subprocess.run(["curl", "-s", "-i", daemon.http + "/ws"], capture_output=True, timeout=10).stdout.decode()
    head, _, body = r.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 426 Upgrade Required")
    assert "Upgrade: websocket" in head and "Sec-WebSocket-Version: 13" in head
    assert "WebSocket endpoint" in json.loads(body)["error"]


def test_server_info_reports_what_is_provided(daemon):
    async def go():
        c = await Client.open(daemon.url, "viewer")
        return (await c.call("get_server_info"))["result"]
    info = asyncio.run(go())
    kinds = {p["name"]: p["kind"] for p in info["plugins"]}
    assert kinds == {"jwt_auth": "auth_provider", "test_pattern_source": "camera_source"}
    # No capture engine: no format can be produced, and the cameras are the test pattern's two.
    assert info["supported_formats"] == [] and info["max_cameras"] == 2
    assert "snapshots" not in info["capabilities"] and "cameras" in info["capabilities"]
