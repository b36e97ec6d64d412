#!/usr/bin/env python3
"""A deliberately awkward RFC 6455 + JSON-RPC server to exercise loadgen's client side.

Python standard library only. The path of the upgrade request selects the behaviour:

  /ws          well-behaved echo of ping/authenticate, but every reply is awkward:
               a server ping before it (the pong must echo the payload), a notification,
               replies padded so that they need 16-bit (126) or 64-bit (127) lengths,
               fragmented replies with a ping between the fragments, and with
               inflight > 1, replies to a batch of requests in reverse order
  /close       answers 50 requests, then closes with 1001 "going away"
  /badaccept   101 with a wrong Sec-WebSocket-Accept
  /masked      sends a masked frame after the upgrade (a protocol error)
  /authfail    authenticate fails with -32001
  /http503     refuses the upgrade with HTTP 503
  /nullid      every 10th request gets an error with "id": null

It checks what the client sends (masking, fresh mask per frame, key format, pong payloads,
a close frame at the end) and prints a summary of violations on SIGTERM/SIGINT as one JSON
line on stdout.
"""
import asyncio, base64, hashlib, json, os, signal, struct, sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
stats = {"conns": 0, "frames_in": 0, "unmasked": 0, "repeated_mask": 0, "bad_key": 0,
         "pings_sent": 0, "pongs_ok": 0, "pongs_bad": 0, "client_close": 0, "client_close_codes": {},
         "requests": 0, "big127": 0, "big126": 0, "fragmented": 0}


def frame(op, payload, fin=True, mask=False):
    b0 = (0x80 if fin else 0) | op
    n = len(payload)
    if n < 126:
        h = bytes([b0, (0x80 if mask else 0) | n])
    elif n < 65536:
        h = bytes([b0, (0x80 if mask else 0) | 126]) + struct.pack(">H", n)
    else:
        h = bytes([b0, (0x80 if mask else 0) | 127]) + struct.pack(">Q", n)
    if mask:
        m = os.urandom(4)
        return h + m + bytes(c ^ m[i & 3] for i, c in enumerate(payload))
    return h + payload


async def read_frame(r, masks):
    b0, b1 = await r.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack(">H", await r.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", await r.readexactly(8))[0]
    stats["frames_in"] += 1
    if not b1 & 0x80:
        stats["unmasked"] += 1
        data = await r.readexactly(n)
    else:
        m = await r.readexactly(4)
        if m in masks:
            stats["repeated_mask"] += 1
        masks.add(m)
        if len(masks) > 100000:
            masks.clear()
        data = bytes(c ^ m[i & 3] for i, c in enumerate(await r.readexactly(n)))
    return b0 & 0x80, b0 & 0x0F, data


async def handle(r, w):
    stats["conns"] += 1
    try:
        head = await r.readuntil(b"\r\n\r\n")
    except Exception:
        w.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1]
    hdr = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            hdr[k.strip().lower()] = v.strip()
    key = hdr.get("sec-websocket-key", "")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            stats["bad_key"] += 1
    except Exception:
        stats["bad_key"] += 1
    if path == "/http503":
        w.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await w.drain()
        w.close()
        return
    acc = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    if path == "/badaccept":
        acc = base64.b64encode(hashlib.sha1(b"nope").digest()).decode()
    w.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\n\r\n" % acc).encode())
    if path == "/masked":
        w.write(frame(1, b'{"jsonrpc":"2.0","method":"x"}', mask=True))
    await w.drain()
    masks = set()
    pending_pings = []
    batch = []
    nreq = 0
    try:
        while True:
            try:
                fin, op, data = await asyncio.wait_for(read_frame(r, masks), 0.002 if batch else 30)
            except asyncio.TimeoutError:
                fin, op, data = None, None, None
            if op == 0x8:
                stats["client_close"] += 1
                code = str(struct.unpack(">H", data[:2])[0]) if len(data) >= 2 else "none"
                stats["client_close_codes"][code] = stats["client_close_codes"].get(code, 0) + 1
                w.write(frame(0x8, data[:2]))
                await w.drain()
                break
            if op == 0xA:
                if pending_pings and pending_pings[0] == data:
                    stats["pongs_ok"] += 1
                    pending_pings.pop(0)
                else:
                    stats["pongs_bad"] += 1
                continue
            if op == 0x1:
                batch.append(json.loads(data))
                if len(batch) < 8:
                    continue  # collect more, answer when the client pauses
            if not batch:
                continue
            out = []
            for req in reversed(batch):  # answer out of order
                nreq += 1
                stats["requests"] += 1
                rid = req.get("id")
                m = req.get("method")
                if m == "authenticate":
                    if path == "/authfail":
                        resp = {"jsonrpc": "2.0", "id": rid, "error": {"code": -32001, "message": "Authentication required"}}
                    else:
                        resp = {"jsonrpc": "2.0", "id": rid, "result": {"authenticated": True, "role": "admin"}}
                elif path == "/nullid" and nreq % 10 == 0:
                    resp = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid Request"}}
                else:
                    resp = {"jsonrpc": "2.0", "id": rid, "result": "pong"}
                kind = nreq % 4
                if kind == 1:
                    resp["pad"] = "x" * 300  # 16-bit length
                    stats["big126"] += 1
                elif kind == 2:
                    resp["pad"] = "é" * 40000  # 80 kB: 64-bit length, UTF-8
                    stats["big127"] += 1
                body = json.dumps(resp, ensure_ascii=False).encode()
                p = os.urandom(8)
                pending_pings.append(p)
                stats["pings_sent"] += 1
                out.append(frame(0x9, p))
                out.append(frame(0x1, json.dumps({"jsonrpc": "2.0", "method": "camera_status_update",
                                                  "params": {"device": "camera0"}}).encode()))
                if kind == 3:
                    stats["fragmented"] += 1
                    a, b = body[: len(body) // 2], body[len(body) // 2:]
                    out.append(frame(0x1, a, fin=False))
                    out.append(frame(0x9, b"mid"))
                    pending_pings.append(b"mid")
                    out.append(frame(0x0, b[:3], fin=False))
                    out.append(frame(0x0, b[3:], fin=True))
                else:
                    out.append(frame(0x1, body))
            batch = []
            w.write(b"".join(out))
            await w.drain()
            if path == "/close" and nreq >= 50:
                w.write(frame(0x8, struct.pack(">H", 1001) + b"going away"))
                await w.drain()
                await asyncio.sleep(0.2)
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        w.close()


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 18290
    srv = await asyncio.start_server(handle, "127.0.0.1", port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(s, stop.set)
    print("edge_server listening on %d" % port, file=sys.stderr, flush=True)
    async with srv:
        await stop.wait()
    print(json.dumps(stats), flush=True)


asyncio.run(main())
