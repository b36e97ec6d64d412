"""The documentation covers what the daemon has: every method rpc.discover lists and every
event topic in docs/api.md, every plugin config key in docs/configuration.md (the host's
own keys are checked by HostCoreTests.ConfigDocsTests)."""
import asyncio
import json
import re
import subprocess

from client import Client
from conftest import BIN, REPO, free_port
from demo import Demo, env_without_secret

API = (REPO / "docs" / "api.md").read_text()
CONFIG = (REPO / "docs" / "configuration.md").read_text()


def default_daemon(tmp_path):
    port = free_port()
    (tmp_path / "plugins.yaml").write_text((REPO / "plugins.yaml").read_text())
    (tmp_path / "config.yaml").write_text(json.dumps({"server": {"host": "127.0.0.1", "port": port},
                                                      "plugins": {"dirs": [str(BIN.parent)]}}))
    return Demo(tmp_path / "config.yaml", port)


def test_every_method_and_event_is_documented_with_an_example(tmp_path):
    demo = default_daemon(tmp_path)
    try:
        async def go():
            c = await Client.open(demo.url, role=None)
            await c.call("authenticate", {"auth_token": demo.tokens["admin"]})
            doc = (await c.call("rpc.discover"))["result"]
            await c.ws.close()
            return doc
        doc = asyncio.run(go())
    finally:
        demo.stop()
    methods = [m["name"] for m in doc["methods"]]
    events = [e["name"] for e in doc["x-events"]]
    assert len(methods) > 30 and len(events) > 15
    sections = re.split(r"^### ", API, flags=re.M)
    def section(name):
        found = [s for s in sections if s.startswith(f"`{name}`")]
        return found[0] if found else None
    missing = [m for m in methods if section(m) is None]
    assert not missing, f"methods without a '### `name`' section in docs/api.md: {missing}"
    without_example = [m for m in methods if '"method": "%s"' % m not in section(m) and m != "rpc.discover"]
    assert not without_example, f"methods whose section has no example request: {without_example}"
    missing = [e for e in events if section(e) is None]
    assert not missing, f"events without a '### `topic`' section in docs/api.md: {missing}"


def plugin_keys(tmp_path, library, config):
    """The keys a plugin knows, as its own unknown-key message lists them (through --check-config)."""
    (tmp_path / "plugins.yaml").write_text(json.dumps({"plugins": [{"name": "p", "library": library, "required": True, "config": config}]}))
    (tmp_path / "config.yaml").write_text(json.dumps({"plugins": {"dirs": [str(BIN.parent)]}}))
    r = subprocess.run([str(BIN), "--config", str(tmp_path / "config.yaml"), "--check-config"], capture_output=True, text=True,
                       env=env_without_secret(), timeout=60)
    m = re.search(r"unknown key \(known: ([^)]*)\)", r.stdout)
    assert m, r.stdout
    return [k.strip() for k in m.group(1).split(",")]


def test_every_plugin_key_is_documented(tmp_path):
    probe = {"zz_probe": 1}
    probes = [("JWTAuth", probe, ""), ("V4L2Source", probe, ""), ("MediaMTXBackend", probe, ""),
              ("MediaMTXBackend", {"encoding": probe}, "encoding."), ("FFmpegCapture", probe, ""), ("FileStore", probe, ""),
              ("TestPatternSource", probe, ""), ("TestPatternSource", {"cameras": [probe]}, "cameras[].")]
    missing = []
    for library, config, prefix in probes:
        rows = [l for l in CONFIG.splitlines() if l.startswith(f"| `{library}` |")]
        assert rows, f"docs/configuration.md has no rows for {library}"
        for key in plugin_keys(tmp_path, library, config):
            if not any(f"`{prefix}{key}`" in row for row in rows):
                missing.append(f"{library}: {prefix}{key}")
    assert not missing, f"plugin keys not in docs/configuration.md: {missing}"
