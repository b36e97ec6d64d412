"""Command line and configuration through the real binary."""
import asyncio
import json
import subprocess

import websockets

from conftest import BIN, free_port, make_token, rpc_message


def test_version_and_help():
    r = subprocess.run([str(BIN), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("camera-service 0.")
    r = subprocess.run([str(BIN), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--check-config" in r.stdout and "CAMERA_SERVICE_" in r.stdout
    r = subprocess.run([str(BIN), "--bogus"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown option '--bogus'" in r.stderr


def test_config_error_exits_2_with_location(daemon_factory):
    d = daemon_factory(raw_config="server:\n  port: 8002\n  websocket_pth: /x\n")
    d.expect_end(exit_code=2).start(wait=False)
    assert d.wait_exit() == 2
    assert "config.yaml:3:3: unknown key 'server.websocket_pth' (did you mean 'websocket_path'?)" in d.log_text()
    # A sentence for the person who started it, not a log record.
    assert d.log_text().startswith("camera-service: config error: "), d.log_text()


def test_yaml_syntax_error_exits_2(daemon_factory):
    d = daemon_factory(raw_config="server: {port: [1\n")
    d.expect_end(exit_code=2).start(wait=False)
    assert d.wait_exit() == 2
    assert "YAML error" in d.log_text() and "config.yaml:" in d.log_text()


def test_bad_plugins_file_exits_2(daemon_factory):
    d = daemon_factory(raw_plugins="plugins:\n  - name: x\n")
    d.expect_end(exit_code=2).start(wait=False)
    assert d.wait_exit() == 2
    assert "plugins.yaml:2:5: plugin 'x': missing 'library'" in d.log_text()


def test_environment_overrides_port_and_level(daemon_factory):
    port = free_port()
    d = daemon_factory(env={"CAMERA_SERVICE_SERVER_PORT": str(port), "CAMERA_SERVICE_LOGGING_FORMAT": "text"})
    d.port = port
    d.start()
    assert "INFO [host]" in d.log_text()  # text format from the environment

    async def go():
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
            await ws.send(rpc_message("ping"))
            return json.loads(await ws.recv())
    assert asyncio.run(go())["result"] == "pong"


def test_bad_environment_override_exits_2(daemon_factory):
    d = daemon_factory(env={"CAMERA_SERVICE_SERVER_MAX_CONNECTIONS": "lots"})
    d.expect_end(exit_code=2).start(wait=False)
    assert d.wait_exit() == 2
    assert "environment CAMERA_SERVICE_SERVER_MAX_CONNECTIONS: server.max_connections" in d.log_text()


def test_weak_jwt_secret_refused_in_production_accepted_in_development(daemon_factory):
    weak = [{"name": "jwt_auth", "library": "JWTAuth", "required": True, "config": {"secret": "changeme"}}]
    d = daemon_factory(plugins=weak)
    d.expect_end(exit_code=2).start(wait=False)
    assert d.wait_exit() == 2
    assert "well-known placeholder" in d.log_text()
    d2 = daemon_factory(plugins=weak, config={"mode": "development"}).start()
    assert "accepted only because the daemon runs in development mode" in d2.log_text()


def test_jwt_secret_from_environment(daemon_factory):
    secret = "env-secret-0123456789abcdef0123456789abcdef"
    d = daemon_factory(plugins=[{"name": "jwt_auth", "library": "JWTAuth", "required": True}],
                       env={"CAMERA_SERVICE_JWT_SECRET": secret}).start()

    async def go():
        async with websockets.connect(d.url) as ws:
            await ws.send(rpc_message("authenticate", {"auth_token": make_token("admin", secret=secret)}))
            return json.loads(await ws.recv())
    assert asyncio.run(go())["result"]["role"] == "admin"


def test_sigterm_finishes_cleanly_with_exit_0(daemon):
    async def go():
        async with websockets.connect(daemon.url) as ws:
            await ws.send(rpc_message("ping"))
            await ws.recv()
            daemon.proc.terminate()
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed as e:
                return e.rcvd.code if e.rcvd else None
    assert asyncio.run(go()) == 1001
    assert daemon.wait_exit() == 0
    msgs = [l["msg"] for l in daemon.log_lines()]
    assert any("received SIGTERM" in m for m in msgs) and msgs[-1] == "stopped"
