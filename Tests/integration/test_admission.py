"""Admission under abuse, through the running daemon. Distinct loopback addresses are distinct
peers (all of 127.0.0.0/8 is this machine): a client socket bound to 127.0.0.2 is one peer,
127.0.0.3 another. No single address, and no crowd of unauthenticated connections, may make
the daemon unreachable for an authenticated client; every refusal is a readable 503."""
import asyncio
import json
import re
import socket
import struct
import time
import urllib.request

import pytest
import websockets

from client import Client
from conftest import make_token, rpc_message
from rawws import RawWS, accept_value, read_until_close


def connect_from(address, port, timeout=5):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((address, 0))
    s.connect(("127.0.0.1", port))
    return s


def half_open_head(address, port):
    """A connection that sends half a request head, then nothing."""
    s = connect_from(address, port)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    return s


def read_response(s, timeout=3):
    data = read_until_close(s, timeout)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/1.1") else None
    headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    return status, headers, body


def upgrade_from(address, port):
    """A raw WebSocket (handshake done) from `address`."""
    s = connect_from(address, port)
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    s.sendall(f"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
              f"Sec-WebSocket-Version: 13\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        assert chunk, buf
        buf += chunk
    assert buf.startswith(b"HTTP/1.1 101") and accept_value(key).encode() in buf, buf
    return s


def prometheus_rejections(d):
    """camera_service_connections_rejected_total by reason, from /metrics."""
    req = urllib.request.Request(d.http + "/metrics", headers={"Authorization": f"Bearer {make_token('viewer')}"})
    text = urllib.request.urlopen(req, timeout=5).read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^camera_service_connections_rejected_total\{reason="([^"]+)"\} (\S+)$', text, re.M)}


def frame_header(length, opcode=0x1, fin=True):
    b0 = (0x80 if fin else 0) | opcode
    if length < 126:
        h = struct.pack("!BB", b0, 0x80 | length)
    elif length < 65536:
        h = struct.pack("!BBH", b0, 0x80 | 126, length)
    else:
        h = struct.pack("!BBQ", b0, 0x80 | 127, length)
    return h + b"\x00\x00\x00\x00"  # mask key 0: payload bytes go as they are


def ping_from(url_address, port):
    """One authenticated ping from another address, through the websockets library."""
    async def go():
        sock = connect_from(url_address, port)
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws", sock=sock) as ws:
            await ws.send(rpc_message("authenticate", {"auth_token": make_token("viewer")}, id=1))
            assert "result" in json.loads(await ws.recv())
            await ws.send(rpc_message("ping", id=2))
            return json.loads(await ws.recv())["result"]
    return asyncio.run(go())


def test_one_address_cannot_lock_everyone_out(daemon_factory):
    d = daemon_factory(config={"server": {"max_connections": 2000, "request_timeout": 30}}).start()
    held, refused = [], []
    try:
        for _ in range(1100):
            held.append(half_open_head("127.0.0.2", d.port))
        # The first 64 are held (their heads unfinished); the rest were refused, readably.
        statuses = []
        for s in held[64:]:
            status, headers, body = read_response(s, 0.5)
            statuses.append(status)
        assert statuses.count(503) == len(statuses), set(statuses)
        status, headers, body = read_response(held[100], 0.1)  # already read: closed
        # Another address is served all along.
        for _ in range(3):
            assert ping_from("127.0.0.3", d.port) == "pong"
        # What a refused client read: a complete 503 naming the limit.
        s = half_open_head("127.0.0.2", d.port)
        status, headers, body = read_response(s, 3)
        assert status == 503 and headers["retry-after"] == "1" and int(headers["content-length"]) == len(body)
        assert json.loads(body)["limit"] == "max_connections_per_ip" and "64" in json.loads(body)["error"]
    finally:
        for s in held:
            s.close()

    async def metrics():
        c = await Client.open(d.url, "admin")
        return (await c.call("get_metrics"))["result"]
    m = asyncio.run(metrics())
    assert m["connections"]["rejected_by_reason"]["max_connections_per_ip"] >= 1036
    assert prometheus_rejections(d)["max_connections_per_ip"] == m["connections"]["rejected_by_reason"]["max_connections_per_ip"]
    refusal_logs = [l for l in d.log_lines() if "refused a connection from 127.0.0.2" in l.get("msg", "")]
    assert 1 <= len(refusal_logs) <= 10  # at most once per second per address, not 1,000 lines


def test_per_address_cap_leaves_other_addresses_alone(daemon_factory):
    d = daemon_factory(config={"server": {"max_connections_per_ip": 3}}).start()
    mine = [upgrade_from("127.0.0.4", d.port) for _ in range(3)]
    try:
        s = connect_from("127.0.0.4", d.port)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = read_response(s)
        assert status == 503 and json.loads(body)["limit"] == "max_connections_per_ip"
        assert ping_from("127.0.0.5", d.port) == "pong"
    finally:
        for s in mine:
            s.close()
    # A slot freed is a slot again (once the daemon has seen the closes).
    deadline = time.time() + 10
    while True:
        try:
            assert ping_from("127.0.0.4", d.port) == "pong"
            break
        except websockets.InvalidStatus:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def test_unauthenticated_websockets_are_closed_at_the_deadline(daemon_factory):
    d = daemon_factory(config={"security": {"auth_timeout": "1s"}}).start()
    stranger = RawWS(d.port)

    async def authenticated():
        c = await Client.open(d.url, "viewer")
        await asyncio.sleep(2.5)
        return (await c.call("ping"))["result"]
    assert asyncio.run(authenticated()) == "pong"  # stays past the deadline
    code, reason = stranger.expect_close(timeout=3)
    assert code == 1008 and b"not authenticated within 1 s" in reason
    assert prometheus_rejections(d).get("auth_timeout") == 1
    # ping and authenticate still need no authentication before the deadline.
    again = RawWS(d.port)
    again.send_text(rpc_message("ping", id=5))
    assert again.recv_json()["result"] == "pong"
    again.close_socket()


def test_the_budget_keeps_room_for_authenticated_clients(daemon_factory):
    # 10 connections, strangers may use 5 of them.
    d = daemon_factory(config={"server": {"max_connections": 10, "max_connections_per_ip": 100},
                               "security": {"unauthenticated_connection_share": 0.5}}).start()
    time.sleep(0.2)

    async def go():
        members = [await Client.open(d.url, "viewer") for _ in range(4)]
        strangers = [await websockets.connect(d.url) for _ in range(8)]  # more than the budget
        # The oldest strangers made room for the newer ones: the first 3 are gone, the last 5 open.
        await asyncio.sleep(0.3)
        open_strangers = []
        for s in strangers:
            try:
                await s.send(rpc_message("ping"))
                await asyncio.wait_for(s.recv(), 3)
                open_strangers.append(True)
            except (websockets.ConnectionClosed, asyncio.TimeoutError):
                open_strangers.append(False)
        # A newcomer who authenticates gets in, and every member is still served.
        newcomer = await Client.open(d.url, "viewer")
        answers = [(await m.call("ping"))["result"] for m in members + [newcomer]]
        return open_strangers, answers
    open_strangers, answers = asyncio.run(go())
    assert open_strangers == [False] * 3 + [True] * 5 and answers == ["pong"] * 5
    evictions = [l for l in d.log_lines() if "unauthenticated_budget" in l.get("msg", "")]
    assert evictions
    # 3 for the strangers, 1 more for the newcomer: unauthenticated until it authenticates, it
    # made room for itself by closing the oldest stranger left.
    assert prometheus_rejections(d).get("unauthenticated_budget") == 4


def test_a_crowd_evicts_its_own_before_a_client_about_to_authenticate(daemon_factory):
    """With the budget full, the connection closed for a newcomer is the oldest of the address
    holding the most: a crowd from two addresses cycles through its own connections, and a
    client that connected before it (the oldest stranger of all) can still authenticate."""
    d = daemon_factory(config={"server": {"max_connections": 10, "max_connections_per_ip": 100},
                               "security": {"unauthenticated_connection_share": 0.5}}).start()
    time.sleep(0.2)

    async def alive(ws):
        try:
            await ws.send(rpc_message("ping"))
            await asyncio.wait_for(ws.recv(), 3)
            return True
        except (websockets.ConnectionClosed, asyncio.TimeoutError):
            return False

    async def go():
        client = await websockets.connect(d.url, sock=connect_from("127.0.0.3", d.port))
        crowd = [await websockets.connect(d.url, sock=connect_from(a, d.port)) for a in ["127.0.0.2", "127.0.0.4"] * 6]
        await asyncio.sleep(0.3)
        crowd_open = [await alive(c) for c in crowd]
        await client.send(rpc_message("authenticate", {"auth_token": make_token("viewer")}, id=1))
        authed = json.loads(await asyncio.wait_for(client.recv(), 3))
        await client.send(rpc_message("get_camera_list", id=2))
        listed = json.loads(await asyncio.wait_for(client.recv(), 3))
        return crowd_open, authed, listed
    crowd_open, authed, listed = asyncio.run(go())
    # Budget 5: the client and the crowd's newest 4.
    assert crowd_open == [False] * 8 + [True] * 4
    assert authed["result"]["authenticated"] is True and "result" in listed, (authed, listed)
    assert prometheus_rejections(d).get("unauthenticated_budget") == 8


def test_a_big_frame_from_a_stranger_is_refused_at_its_header(daemon_factory):
    d = daemon_factory().start()
    s = upgrade_from("127.0.0.6", d.port)
    s.sendall(frame_header(1 << 20) + b"x" * 1000)  # announces 1 MB, sends 1 KB of it
    data = read_until_close(s, 3)
    assert data[0] == 0x88, data[:20]  # a close frame, at once: the 1 MB was never buffered
    code = struct.unpack("!H", data[2:4])[0]
    assert code == 1009 and b"16384" in data
    s.close()
    assert prometheus_rejections(d).get("unauthenticated_message_size") == 1

    # Authenticated, the same frame is within max_message_bytes (1 MiB) and is read whole.
    async def member():
        async with websockets.connect(d.url, max_size=None) as ws:
            await ws.send(rpc_message("authenticate", {"auth_token": make_token("viewer")}, id=1))
            await ws.recv()
            await ws.send(json.dumps({"jsonrpc": "2.0", "method": "ping", "id": 2, "params": {"pad": "y" * 900_000}}))
            return json.loads(await ws.recv())
    assert asyncio.run(member())["result"] == "pong"
