#!/usr/bin/env python3
"""A camera-service client in one file: only `websockets` and the standard library.

It authenticates, lists the cameras, subscribes to events, takes a snapshot and downloads
it, records 3 seconds and downloads the recording, printing what it does:

    python3 camera_client.py --url ws://localhost:8002/ws --token <operator or admin token>

The token can also come from CAMERA_SERVICE_TOKEN (`camera-service --demo` prints some;
`camera-service token --role operator --user me` mints one). Files go to --out (./downloads).
Exit status: 0 done, 1 the daemon refused or failed something (its error is printed),
2 wrong arguments or no camera.
"""
import argparse
import asyncio
import itertools
import json
import os
import sys
import urllib.parse
import urllib.request

import websockets


class RPCError(Exception):
    def __init__(self, method, error):
        self.code = error.get("code")
        self.data = error.get("data")
        super().__init__(f"{method}: {error.get('message')} ({self.code}){' ' + json.dumps(self.data) if self.data else ''}")


class CameraService:
    """JSON-RPC 2.0 over one WebSocket: calls by id; notifications queued as they arrive."""

    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)
        self.pending = {}
        self.events = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, url):
        return cls(await websockets.connect(url, max_size=None))

    async def _read(self):
        async for text in self.ws:
            message = json.loads(text)
            future = self.pending.pop(message.get("id"), None)
            if future:
                future.set_result(message)
            elif "method" in message:
                await self.events.put(message)

    async def call(self, method, params=None, timeout=30):
        request_id = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        request = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params is not None:
            request["params"] = params
        await self.ws.send(json.dumps(request))
        reply = await asyncio.wait_for(future, timeout)
        if "error" in reply:
            raise RPCError(method, reply["error"])
        return reply["result"]

    async def event(self, method, timeout=60, **match):
        """The next notification named `method` whose params contain `match`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            note = await asyncio.wait_for(self.events.get(), max(left, 0.01))
            params = note.get("params", {})
            if note["method"] == method and all(params.get(k) == v for k, v in match.items()):
                return params

    async def close(self):
        self.reader.cancel()
        await self.ws.close()


def download(http_base, path, token, out_dir):
    """GETs a file the daemon serves (its download_url) with the token; returns where it went."""
    url = urllib.parse.urljoin(http_base, path)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, os.path.basename(urllib.parse.urlparse(url).path))
    with urllib.request.urlopen(request, timeout=60) as reply, open(target, "wb") as f:
        while chunk := reply.read(1 << 16):
            f.write(chunk)
    return target


async def run(args):
    http_base = args.url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)
    client = await CameraService.connect(args.url)
    try:
        me = await client.call("authenticate", {"auth_token": args.token})
        print(f"authenticated as {me.get('user_id', '?')}, {me['role']} (permissions {', '.join(me['permissions'])}; expires {me.get('expires_at') or 'never'})")

        cameras = (await client.call("get_camera_list"))["cameras"]
        for c in cameras:
            print(f"camera {c['device']}: {c['status']} {c.get('name', '')} {c.get('resolution', '')} @ {c.get('fps', '')} fps")
        ready = [c["device"] for c in cameras if c["status"] == "CONNECTED"]
        device = args.device or (ready[0] if ready else None)
        if device is None:
            print("no connected camera", file=sys.stderr)
            return 2

        await client.call("subscribe_events", {"topics": ["snapshot.taken", "recording.start", "recording.stop"],
                                               "filters": {"device": device}})

        shot = await client.call("take_snapshot", {"device": device})
        print(f"snapshot {shot['filename']}: {shot['file_size']} bytes (tier {shot['tier']})")
        info = await client.call("get_snapshot_info", {"filename": shot["filename"]})
        print(f"  downloaded to {download(http_base, info['download_url'], args.token, args.out)}")

        started = await client.call("start_recording", {"device": device, "duration": args.seconds})
        print(f"recording {started['filename']} for {args.seconds} s")
        stopped = await client.event("recording.stop", timeout=args.seconds + 60, filename=started["filename"])
        print(f"  stopped ({stopped['cause']}): {stopped['duration']} s, {stopped['file_size']} bytes in {len(stopped['files'])} file(s)")
        if stopped["status"] != "STOPPED":
            print(f"  the recording failed: {stopped.get('detail', stopped['cause'])}", file=sys.stderr)
            return 1
        for name in stopped["files"]:
            info = await client.call("get_recording_info", {"filename": name})
            print(f"  downloaded to {download(http_base, info['download_url'], args.token, args.out)}")
        return 0
    finally:
        await client.close()


def main():
    parser = argparse.ArgumentParser(description="camera-service example client")
    parser.add_argument("--url", default="ws://localhost:8002/ws", help="the daemon's WebSocket URL")
    parser.add_argument("--token", default=os.environ.get("CAMERA_SERVICE_TOKEN"), help="an operator or admin JWT or API key")
    parser.add_argument("--device", help="camera to use (default: the first connected one)")
    parser.add_argument("--seconds", type=int, default=3, help="recording length")
    parser.add_argument("--out", default="downloads", help="where downloaded files go")
    args = parser.parse_args()
    if not args.token:
        parser.error("a token is needed: --token or CAMERA_SERVICE_TOKEN")
    try:
        return asyncio.run(run(args))
    except RPCError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (OSError, websockets.exceptions.WebSocketException, asyncio.TimeoutError) as e:
        print(f"error: cannot talk to {args.url}: {e!r}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
