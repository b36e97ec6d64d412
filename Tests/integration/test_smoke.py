import asyncio
import json

import websockets

from conftest import make_token, rpc_message


def test_ping_and_authenticated_camera_list(daemon):
    async def go():
        async with websockets.connect(daemon.url) as ws:
            await ws.send(rpc_message("ping"))
            assert json.loads(await ws.recv()) == {"jsonrpc": "2.0", "id": 1, "result": "pong"}
            await ws.send(rpc_message("authenticate", {"auth_token": make_token("viewer")}, id=2))
            auth = json.loads(await ws.recv())["result"]
            assert auth["authenticated"] is True and auth["role"] == "viewer" and auth["permissions"] == ["view"]
            await ws.send(rpc_message("get_camera_list", id=3))
            cams = json.loads(await ws.recv())["result"]
            assert cams["total"] == 2 and {c["device"] for c in cams["cameras"]} == {"test_cam0", "test_cam1"}
    asyncio.run(go())
