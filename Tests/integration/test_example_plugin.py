"""The out-of-tree example plugin: built as its own package, enabled by an absolute path."""
import asyncio
import json
import os
import subprocess

import pytest
import websockets

from conftest import DEFAULT_PLUGINS, REPO, make_token, rpc_message


@pytest.fixture(scope="session")
def example_library():
    pkg = REPO / "Examples" / "HelloPlugin"
    subprocess.run(["swift", "build", "--package-path", str(pkg)], check=True, capture_output=True, timeout=600)
    lib = pkg / ".build" / "debug" / "libAcmeHello.so"
    assert lib.exists()
    return lib


def test_out_of_tree_plugin_registers_a_working_method(daemon_factory, example_library):
    assert os.path.isabs(example_library)
    plugins = DEFAULT_PLUGINS + [{"name": "acme_hello", "library": str(example_library), "config": {"greeting": "Ahoy"}}]
    d = daemon_factory(plugins=plugins).start()
    line = [l for l in d.log_lines() if l.get("plugin") == "acme_hello"]
    assert line and line[0]["status"] == "active" and str(example_library) in line[0]["msg"]

    async def go():
        async with websockets.connect(d.url) as ws:
            await ws.send(rpc_message("acme.hello", {"name": "Ada"}, id=1))
            unauth = json.loads(await ws.recv())
            await ws.send(rpc_message("authenticate", {"auth_token": make_token("viewer", user="ada")}, id=2))
            await ws.recv()
            await ws.send(rpc_message("acme.hello", {"name": "Ada"}, id=3))
            first = json.loads(await ws.recv())
            await ws.send(rpc_message("acme.hello", {}, id=4))
            missing = json.loads(await ws.recv())
            return unauth, first, missing
    unauth, first, missing = asyncio.run(go())
    assert unauth["error"]["code"] == -32001  # the plugin's declared role is enforced by the host
    assert first["result"] == {"message": "Ahoy, Ada!", "caller": "ada", "count": 1}
    assert missing["error"]["code"] == -32602 and missing["error"]["data"]["param"] == "name"


def test_bad_example_config_fails_that_plugin_only(daemon_factory, example_library):
    plugins = DEFAULT_PLUGINS + [{"name": "acme_hello", "library": str(example_library), "config": {"greting": "typo"}}]
    d = daemon_factory(plugins=plugins).start()
    line = [l for l in d.log_lines() if l.get("plugin") == "acme_hello"][0]
    assert line["status"] == "failed" and "config key 'greting': unknown key" in line["msg"]
