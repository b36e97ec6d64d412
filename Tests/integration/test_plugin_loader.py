"""The plugin loader, end to end: every failure is one clear log line, optional plugins fail
soft, required ones stop start-up with exit code 2, disabled capabilities answer -32030."""
import asyncio
import json
import subprocess

import pytest
import websockets

from conftest import BIN, BUILD_DIR, DEFAULT_PLUGINS, REPO, SECRET, make_token, rpc_message


async def call(url, *messages, token=None):
    replies = []
    async with websockets.connect(url) as ws:
        if token:
            await ws.send(rpc_message("authenticate", {"auth_token": token}, id=0))
            assert "result" in json.loads(await ws.recv())
        for i, (method, params) in enumerate(messages):
            await ws.send(rpc_message(method, params, id=i + 1))
            replies.append(json.loads(await ws.recv()))
    return replies


def plugin_lines(d, name):
    return [l for l in d.log_lines() if l.get("plugin") == name]


CASES = {
    "missing": ("/nonexistent/libNope.so", "cannot open shared object file"),
    "bare_missing": ("NoSuchPlugin", "libNoSuchPlugin.so not found"),
    "garbage": ("libGarbage.so", "invalid ELF header"),
    "yaml_renamed": ("libYamlRenamed.so", "file too short"),
    "not_a_plugin": ("libNotAPlugin.so", "is not a plugin (no swiftplugin_api_version)"),
    "wrong_version": ("libFixtureWrongVersion.so", "built against PluginAPI 99.0, host provides 1.0"),
    "wrong_type": ("libFixtureWrongType.so", "does not conform to PluginAPI.Plugin"),
    "private_copy": ("libFixturePrivateCopy.so", "contains its own (statically linked) copy of PluginAPI"),
    "failing_activation": ("libFixtureFailingActivation.so", "activation failed: config key 'device_path': fixture always refuses"),
    "duplicate_method": ("libFixtureDuplicateMethod.so", "JSON-RPC method 'ping' registered twice: by core and by plugin duplicate_method"),
}


def library_path(fixtures, lib):
    return lib if lib.startswith("/") or "/" not in lib and not lib.startswith("lib") else str(fixtures / lib)


@pytest.mark.parametrize("case", sorted(CASES))
def test_optional_plugin_failure_is_one_clear_line_and_the_daemon_serves(daemon_factory, fixtures, case):
    lib, cause = CASES[case]
    d = daemon_factory(plugins=DEFAULT_PLUGINS + [{"name": case, "library": library_path(fixtures, lib)}]).start()
    lines = plugin_lines(d, case)
    assert len(lines) == 1, d.log_text()
    assert lines[0]["status"] == "failed" and lines[0]["level"] == "warning"
    assert cause in lines[0]["msg"], lines[0]["msg"]
    if lib.startswith("lib"):
        assert lib in lines[0]["msg"]  # names the file
    replies = asyncio.run(call(d.url, ("ping", None), ("get_server_info", None), token=make_token("viewer")))
    assert replies[0]["result"] == "pong"  # never hijacked by the duplicate
    status = {p["name"]: p["status"] for p in replies[1]["result"]["plugins"]}
    assert status[case] == "failed" and status["jwt_auth"] == "active"


def test_failed_plugin_leaves_no_methods_behind(daemon_factory, fixtures):
    d = daemon_factory(plugins=DEFAULT_PLUGINS + [{"name": "dup", "library": str(fixtures / "libFixtureDuplicateMethod.so")}]).start()
    (reply,) = asyncio.run(call(d.url, ("fixture.orphan", None)))
    assert reply["error"]["code"] == -32601


@pytest.mark.parametrize("case", ["wrong_version", "private_copy", "missing"])
def test_required_plugin_failure_stops_startup_with_exit_2(daemon_factory, fixtures, case):
    lib, cause = CASES[case]
    d = daemon_factory(plugins=DEFAULT_PLUGINS + [{"name": case, "library": library_path(fixtures, lib), "required": True}])
    d.expect_end(exit_code=2).start(wait=False)
    assert d.wait_exit() == 2
    lines = plugin_lines(d, case)
    assert len(lines) == 1 and lines[0]["level"] == "error" and cause in lines[0]["msg"]
    assert any("start-up stopped" in l["msg"] for l in d.log_lines())


def test_startup_log_lists_every_plugin_with_its_status(daemon_factory):
    plugins = DEFAULT_PLUGINS + [{"name": "file_store", "library": "FileStore", "enabled": False}]
    d = daemon_factory(plugins=plugins).start()
    statuses = {l["plugin"]: l["status"] for l in d.log_lines() if "plugin" in l and "status" in l}
    assert statuses == {"jwt_auth": "active", "test_pattern_source": "active", "file_store": "disabled"}


def test_disabled_capability_answers_unsupported(daemon_factory):
    plugins = [DEFAULT_PLUGINS[0], {"name": "test_pattern_source", "library": "TestPatternSource", "enabled": False}]
    d = daemon_factory(plugins=plugins).start()
    replies = asyncio.run(call(d.url, ("get_camera_list", None), ("get_camera_status", {"device": "test_cam0"}), token=make_token("viewer")))
    for r in replies:
        assert r["error"]["code"] == -32030 and r["error"]["data"]["feature"] == "camera_source", r


def test_without_auth_plugin_authenticate_is_unsupported(daemon_factory):
    d = daemon_factory(plugins=[{"name": "test_pattern_source", "library": "TestPatternSource"}]).start()
    (reply,) = asyncio.run(call(d.url, ("authenticate", {"auth_token": make_token()})))
    assert reply["error"]["code"] == -32030


def test_plugin_method_works_through_the_registry(daemon):
    (reply,) = asyncio.run(call(daemon.url, ("test_pattern.list", None), token=make_token("viewer")))
    devices = [c["device"] for c in reply["result"]]
    assert devices == ["test_cam0", "test_cam1"]
    assert reply["result"][0]["ffmpeg_input"][:3] == ["-re", "-f", "lavfi"]


def test_host_binary_links_no_plugin():
    needed = subprocess.run(["readelf", "-d", str(BIN)], check=True, capture_output=True, text=True).stdout
    assert "libPluginAPI.so" in needed
    for name in ["V4L2Source", "MediaMTXBackend", "FFmpegCapture", "JWTAuth", "FileStore", "TestPatternSource"]:
        assert f"lib{name}.so" not in needed
        assert (BUILD_DIR / f"lib{name}.so").exists()


def test_check_config(daemon_factory, fixtures):
    good = daemon_factory()
    r = subprocess.run([str(BIN), "--config", str(good.config_path), "--check-config"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "plugin jwt_auth: OK" in r.stdout
    bad = daemon_factory(plugins=DEFAULT_PLUGINS + [{"name": "v", "library": str(fixtures / "libFixtureWrongVersion.so"), "required": True}])
    r = subprocess.run([str(BIN), "--config", str(bad.config_path), "--check-config"], capture_output=True, text=True)
    assert r.returncode == 2 and "plugin v: ERROR" in r.stdout and "PluginAPI 99.0" in r.stdout
    broken = daemon_factory(raw_config="server:\n  port: eighty\n")
    r = subprocess.run([str(BIN), "--config", str(broken.config_path), "--check-config"], capture_output=True, text=True)
    assert r.returncode == 2 and "config.yaml:2:9: server.port: expected an integer" in r.stdout
