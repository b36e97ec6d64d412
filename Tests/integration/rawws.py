"""Raw-socket helpers for the integration tests: hand-built HTTP requests and WebSocket
frames, so tests can send what a well-behaved client library never would (unmasked frames,
reserved bits, bad close codes, broken UTF-8, …) and see exactly what the server answers.
"""
import base64
import hashlib
import json
import os
import socket
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def accept_value(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


# ---------------------------------------------------------------- HTTP

def http_exchange(port, raw: bytes, timeout=3.0, rcvbuf=None):
    """Sends raw bytes, reads until the server closes (or `timeout`), returns all bytes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(raw)
        return read_until_close(s, timeout)
    finally:
        s.close()


def read_until_close(s, timeout=3.0):
    data = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


class HTTPResponse:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (lower-case name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<HTTP {self.status} {self.headers} {self.body[:200]!r}>"


def parse_head(data: bytes):
    """Parses a status line and headers; returns (status, reason, headers, rest)."""
    end = data.find(b"\r\n\r\n")
    assert end >= 0, f"no complete response head in {data[:300]!r}"
    head = data[:end].decode("latin-1").split("\r\n")
    parts = head[0].split(" ", 2)
    assert parts[0] == "HTTP/1.1", f"bad status line {head[0]!r}"
    headers = []
    for line in head[1:]:
        k, _, v = line.partition(":")
        headers.append((k.strip().lower(), v.strip()))
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers, data[end + 4:]


def parse_responses(data: bytes, head_only_first=False):
    """Splits a byte stream into consecutive responses (Content-Length framed)."""
    out = []
    first = True
    while data:
        status, reason, headers, rest = parse_head(data)
        length = 0
        for k, v in headers:
            if k == "content-length":
                length = int(v)
        if head_only_first and first:
            length = 0
        first = False
        body, data = rest[:length], rest[length:]
        assert len(body) == length, f"truncated body: {len(body)} of {length}"
        out.append(HTTPResponse(status, reason, headers, body))
    return out


def http_request(port, raw: bytes, timeout=3.0) -> HTTPResponse:
    data = http_exchange(port, raw, timeout)
    rs = parse_responses(data)
    assert len(rs) == 1, f"expected one response, got {rs}"
    return rs[0]


def upgrade_request(path="/ws", key="dGhlIHNhbXBsZSBub25jZQ==", version="13", method="GET", extra=(), host=True,
                    connection="Upgrade", omit=()):
    lines = [f"{method} {path} HTTP/1.1"]
    hdrs = []
    if host:
        hdrs.append(("Host", "127.0.0.1"))
    hdrs.append(("Upgrade", "websocket"))
    hdrs.append(("Connection", connection))
    if key is not None:
        hdrs.append(("Sec-WebSocket-Key", key))
    if version is not None:
        hdrs.append(("Sec-WebSocket-Version", version))
    hdrs.extend(extra)
    for k, v in hdrs:
        if k.lower() in {o.lower() for o in omit}:
            continue
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# ---------------------------------------------------------------- WebSocket

def encode_frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length_override=None):
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length_override is None else length_override
    out = bytearray([b0])
    mbit = 0x80 if mask else 0
    if n < 126:
        out.append(mbit | n)
    elif n <= 0xFFFF:
        out.append(mbit | 126)
        out += struct.pack("!H", n)
    else:
        out.append(mbit | 127)
        out += struct.pack("!Q", n)
    if mask:
        key = os.urandom(4)
        out += key
        out += bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    else:
        out += payload
    return bytes(out)


class Closed(Exception):
    """The server closed the TCP connection (EOF or reset)."""


class RawWS:
    """A minimal, deliberately permissive WebSocket client on a plain socket."""

    def __init__(self, port, path="/ws", extra_headers=(), rcvbuf=None, timeout=3.0, first_frames=b""):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.buf = b""
        self.sock.sendall(upgrade_request(path, key=self.key, extra=extra_headers) + first_frames)
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed(f"closed during handshake: {self.buf!r}")
            self.buf += chunk
        status, _, headers, rest = parse_head(self.buf)
        self.buf = rest
        assert status == 101, f"handshake refused: {status} {headers}"
        assert dict(headers).get("sec-websocket-accept") == accept_value(self.key)

    def close_socket(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # sending
    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def send(self, opcode, payload=b"", **kw):
        self.sock.sendall(encode_frame(opcode, payload, **kw))

    def send_text(self, text):
        self.send(OP_TEXT, text.encode() if isinstance(text, str) else text)

    def send_close(self, code=None, reason=b""):
        payload = b"" if code is None else struct.pack("!H", code) + reason
        self.send(OP_CLOSE, payload)

    # receiving
    def _fill(self, n, deadline):
        while len(self.buf) < n:
            remaining = deadline - time.time()
            if remaining <= 0:
                raise socket.timeout("timed out waiting for a frame")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError as e:
                raise Closed("connection reset") from e
            if not chunk:
                raise Closed("EOF")
            self.buf += chunk

    def recv_frame(self, timeout=3.0):
        """Returns (fin, opcode, payload) of the next server frame; raises Closed at EOF."""
        deadline = time.time() + timeout
        self._fill(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        assert b1 & 0x80 == 0, "server frames must not be masked"
        assert b0 & 0x70 == 0, "server set RSV bits"
        n = b1 & 0x7F
        hl = 2
        if n == 126:
            self._fill(4, deadline)
            n = struct.unpack("!H", self.buf[2:4])[0]
            hl = 4
        elif n == 127:
            self._fill(10, deadline)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            hl = 10
        self._fill(hl + n, deadline)
        payload = self.buf[hl:hl + n]
        self.buf = self.buf[hl + n:]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv_message(self, timeout=3.0, answer_pings=True):
        """The next complete data message (text), answering pings on the way."""
        deadline = time.time() + timeout
        parts = b""
        while True:
            fin, op, payload = self.recv_frame(max(0.01, deadline - time.time()))
            if op == OP_PING:
                if answer_pings:
                    self.send(OP_PONG, payload)
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                raise AssertionError(f"unexpected close frame {close_code(payload)} {payload[2:]!r}")
            parts += payload
            if fin:
                return parts

    def recv_json(self, timeout=3.0, skip_notifications=True):
        while True:
            msg = json.loads(self.recv_message(timeout))
            if skip_notifications and isinstance(msg, dict) and "method" in msg and "id" not in msg:
                continue
            return msg

    def call(self, method, params=None, id=1, timeout=3.0):
        m = {"jsonrpc": "2.0", "method": method, "id": id}
        if params is not None:
            m["params"] = params
        self.send_text(json.dumps(m))
        return self.recv_json(timeout)

    def expect_close(self, timeout=3.0):
        """Reads frames until a close frame; returns (code, reason). Data frames before it are ignored."""
        deadline = time.time() + timeout
        while True:
            _, op, payload = self.recv_frame(max(0.01, deadline - time.time()))
            if op == OP_CLOSE:
                return close_code(payload), payload[2:]

    def expect_eof(self, timeout=3.0):
        """Asserts that the server closes TCP within `timeout` (after any remaining frames)."""
        deadline = time.time() + timeout
        while True:
            try:
                self.recv_frame(max(0.01, deadline - time.time()))
            except Closed:
                return True
            except socket.timeout:
                raise AssertionError("server did not close the TCP connection")

    def expect_silence(self, seconds=0.3):
        """Asserts that no data frame arrives within `seconds` (pings are answered)."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                _, op, payload = self.recv_frame(max(0.01, deadline - time.time()))
            except socket.timeout:
                return
            if op == OP_PING:
                self.send(OP_PONG, payload)
                continue
            raise AssertionError(f"unexpected frame op={op} payload={payload[:200]!r}")


def close_code(payload):
    if len(payload) < 2:
        return None
    return struct.unpack("!H", payload[:2])[0]


def collect_messages(ws: RawWS, seconds=0.3):
    """Every JSON message that arrives within `seconds` (pings answered)."""
    out = []
    deadline = time.time() + seconds
    while True:
        remaining = deadline - time.time()
        if remaining <= 0:
            return out
        try:
            out.append(json.loads(ws.recv_message(timeout=remaining)))
        except socket.timeout:
            return out
