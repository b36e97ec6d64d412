"""An async JSON-RPC client for the tests: calls by id, and the notifications that arrive
in between kept in order for `note()`."""
import asyncio
import json

import websockets

from conftest import make_token, rpc_message


class Client:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 100
        self.notes = []

    @classmethod
    async def open(cls, url, role="admin"):
        c = cls(await websockets.connect(url, max_size=None))
        if role:
            r = await c.call("authenticate", {"auth_token": make_token(role, user=f"u-{role}")})
            assert "result" in r, r
        return c

    async def call(self, method, params=None):
        self.next_id += 1
        await self.ws.send(rpc_message(method, params, id=self.next_id))
        while True:
            m = json.loads(await self.ws.recv())
            if m.get("id") == self.next_id:
                return m
            self.notes.append(m)

    async def note(self, timeout=2.0, skip_legacy=False):
        while True:
            if self.notes:
                m = self.notes.pop(0)
            else:
                m = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if skip_legacy and m.get("method") in ("camera_status_update", "recording_status_update"):
                continue
            return m

    async def no_note(self, wait=0.3):
        try:
            m = await self.note(wait)
        except asyncio.TimeoutError:
            return True
        raise AssertionError(f"unexpected notification {m}")
