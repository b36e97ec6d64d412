"""What a newcomer and an operator meet first: --demo, the command line, the secret made in
the data directory, and systemd's notify protocol, through the real binary."""
import asyncio
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import time
import urllib.request

import jwt as pyjwt
import pytest

from client import Client
from conftest import BIN, REPO, SECRET, free_port, make_token
from demo import Demo, env_without_secret

JWT_NO_SECRET = [{"name": "jwt_auth", "library": "JWTAuth", "required": True},
                 {"name": "test_pattern_source", "library": "TestPatternSource", "enabled": False}]


def write_config(tmp, plugins, port=None):
    port = port or free_port()
    cfg = tmp / "config.yaml"
    cfg.write_text(json.dumps({"server": {"host": "127.0.0.1", "port": port}, "logging": {"format": "json"}}))
    (tmp / "plugins.yaml").write_text(json.dumps({"plugins": plugins}))
    return cfg, port


def cli(*args, cwd=None):
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, timeout=30, cwd=cwd, env=env_without_secret())


async def role_of(url, token):
    c = await Client.open(url, role=None)
    try:
        r = await c.call("authenticate", {"auth_token": token})
        return r.get("result", {}).get("role"), c
    except Exception:
        await c.ws.close()
        raise


def test_demo_prints_console_and_tokens_first_and_they_work(tmp_path):
    plugins = [{"name": "jwt_auth", "library": "JWTAuth", "required": True, "config": {"secret": SECRET}},
               {"name": "test_pattern_source", "library": "TestPatternSource", "enabled": False}]
    cfg, port = write_config(tmp_path, plugins)
    demo = Demo(cfg, port)
    try:
        assert demo.lines[0] == "camera-service demo", demo.lines  # before any log line
        assert f"http://127.0.0.1:{port}/" in demo.lines[1] and f"ws://127.0.0.1:{port}/ws" in demo.lines[2]
        assert set(demo.tokens) == {"viewer", "operator", "admin"}

        async def go():
            for role, token in demo.tokens.items():
                got, c = await role_of(demo.url, token)
                assert got == role
                if role == "viewer":  # the disabled test-pattern plugin is on in a demo
                    cams = (await c.call("get_camera_list"))["result"]["cameras"]
                    assert {"test_cam0", "test_cam1"} <= {x["device"] for x in cams}
                await c.ws.close()
            # the configured secret is not the demo's: a token signed with it is refused
            got, c = await role_of(demo.url, make_token("admin"))
            assert got is None
            await c.ws.close()
        asyncio.run(go())
        first_admin = demo.tokens["admin"]
    finally:
        rc, out = demo.stop()
    assert rc == 0, out

    again = Demo(cfg, port)  # a new run, a new secret: the old tokens die with the old run
    try:
        async def go():
            got, c = await role_of(again.url, first_admin)
            await c.ws.close()
            return got
        assert asyncio.run(go()) is None
        assert again.tokens["admin"] != first_admin
    finally:
        again.stop()


def test_the_readmes_run_command_gives_a_snapshot(tmp_path):
    """`make run` (scripts/run.sh: the repository's own config.yaml and plugins.yaml, --demo) on
    a machine with no camera and no MediaMTX: the console is served, and the operator token it
    prints takes a snapshot of a test pattern (read directly: tier 3) that is then listed."""
    assert "--config config.yaml --demo" in (REPO / "scripts" / "run.sh").read_text()
    for name in ("config.yaml", "plugins.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    port = free_port()
    demo = Demo(tmp_path / "config.yaml", port, env={"CAMERA_SERVICE_SERVER_HOST": "127.0.0.1", "CAMERA_SERVICE_SERVER_PORT": str(port),
                                                    "CAMERA_SERVICE_SERVER_CONSOLE_DIR": str(REPO / "console")})
    try:
        assert demo.lines[0] == "camera-service demo" and set(demo.tokens) == {"viewer", "operator", "admin"}
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status == 200 and b"<html" in page.read().lower()

        async def go():
            got, c = await role_of(demo.url, demo.tokens["operator"])
            assert got == "operator"
            cams = (await c.call("get_camera_list"))["result"]["cameras"]
            shot = (await c.call("take_snapshot", {"device": "test_cam0"}))
            for _ in range(50):  # catalogued in the background
                listed = (await c.call("list_snapshots"))["result"]["files"]
                if listed:
                    break
                await asyncio.sleep(0.1)
            await c.ws.close()
            return cams, shot, listed
        cams, shot, listed = asyncio.run(go())
        assert {"test_cam0", "test_cam1"} <= {x["device"] for x in cams}
        assert shot["result"]["tier"] == 3, shot
        assert [f["filename"] for f in listed] == [shot["result"]["filename"]]
        assert (tmp_path / "data").is_dir()  # state in data/, next to the config
    finally:
        rc, out = demo.stop()
    assert rc == 0, out[-2000:]


def test_global_options_after_the_subcommand_and_keys_in_the_data_dir(tmp_path):
    cfg, _ = write_config(tmp_path, JWT_NO_SECRET)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    r = cli("keys", "add", "--role", "viewer", "--config", cfg, cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("csk_")
    assert (tmp_path / "data" / "api-keys.json").exists() and not list(elsewhere.iterdir())
    r = cli("--config", cfg, "keys", "list")
    assert r.returncode == 0 and "viewer" in r.stdout


def test_help_for_every_command_and_clear_errors(tmp_path):
    cfg, _ = write_config(tmp_path, JWT_NO_SECRET)
    for name, args in (("keys", ["keys", "--help"]), ("keys", ["keys", "add", "--help"]), ("token", ["token", "-h"]), ("token", ["--help", "token"])):
        r = cli(*args, "--config", cfg)
        assert r.returncode == 0 and r.stdout.startswith(f"Usage: camera-service {name} "), (args, r)
    r = cli("--help")
    assert r.returncode == 0 and "--demo" in r.stdout and "Exit codes" in r.stdout
    for args, text in ((["--demo", "keys", "list"], "--demo starts the daemon"), (["--config"], "--config needs a file"),
                       (["frobnicate", "--config", cfg], "unknown command 'frobnicate'"),
                       (["token", "--role", "root", "--user", "x", "--config", cfg], "token needs --role")):
        r = cli(*args)
        assert r.returncode == 2, (args, r)
        assert text in r.stderr and "Traceback" not in r.stderr and "Fatal error" not in r.stderr, (args, r.stderr)


def test_token_command_works_without_a_configured_secret(tmp_path):
    # The secret is made in the data directory on first use and shared by the daemon.
    cfg, port = write_config(tmp_path, JWT_NO_SECRET)
    r = cli("token", "--role", "operator", "--user", "newcomer", "--config", cfg)
    assert r.returncode == 0, r.stderr
    secret_file = tmp_path / "data" / "jwt.secret"
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) == 64
    assert pyjwt.decode(r.stdout.strip(), secret, algorithms=["HS256"])["role"] == "operator"
    proc = subprocess.Popen([str(BIN), "--config", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env_without_secret())
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)

        async def go():
            got, c = await role_of(f"ws://127.0.0.1:{port}/ws", r.stdout.strip())
            await c.ws.close()
            return got
        assert asyncio.run(go()) == "operator"
        assert secret_file.read_text().strip() == secret  # the daemon used it, did not replace it
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_systemd_notify_ready_watchdog_and_stopping(tmp_path):
    cfg, port = write_config(tmp_path, JWT_NO_SECRET)
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(10)
    env = env_without_secret()
    env.update(NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC="300000")
    proc = subprocess.Popen([str(BIN), "--config", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        ready = sock.recv(4096).decode()
        assert ready.splitlines()[0] == "READY=1" and f"STATUS=listening on port {port}" in ready
        socket.create_connection(("127.0.0.1", port), timeout=1).close()  # ready means listening
        t0 = time.time()
        pings = [sock.recv(4096).decode() for _ in range(3)]
        assert pings == ["WATCHDOG=1"] * 3
        assert time.time() - t0 < 2  # every 0.15 s (half of WATCHDOG_USEC), well under 2 s
        proc.send_signal(signal.SIGTERM)
        while (m := sock.recv(4096).decode()) == "WATCHDOG=1":
            pass
        assert m == "STOPPING=1"
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()


def test_watchdog_meant_for_another_process_is_not_fed(tmp_path):
    cfg, port = write_config(tmp_path, JWT_NO_SECRET)
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(5)
    env = env_without_secret()
    env.update(NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC="100000", WATCHDOG_PID="1")
    proc = subprocess.Popen([str(BIN), "--config", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        assert sock.recv(4096).decode().startswith("READY=1")
        sock.settimeout(0.6)
        with pytest.raises(socket.timeout):
            sock.recv(4096)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        sock.close()
