"""RFC 6455 behaviour of the WebSocket endpoint, one rule per test.

Most tests share one daemon (max_message_bytes 2048, one allowed Origin); the keepalive,
shutdown, slow-reader and connection-limit tests start their own with the settings they need.
Protocol violations are sent with hand-built frames on a raw socket (rawws.py).
"""
import json
import select
import signal
import socket
import struct
import time

import pytest

from conftest import Daemon, make_token
from rawws import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, Closed, RawWS, accept_value, close_code, encode_frame,
                   parse_head, read_until_close, upgrade_request)

MAX_MESSAGE = 2048
ALLOWED_ORIGIN = "https://allowed.example"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("ws"),
               config={"server": {"max_message_bytes": MAX_MESSAGE}, "security": {"allowed_origins": [ALLOWED_ORIGIN]}})
    d.start()
    yield d
    d.end()


def ping_json(id=1):
    return json.dumps({"jsonrpc": "2.0", "method": "ping", "id": id}, ensure_ascii=False)


def pong(id=1):
    return {"jsonrpc": "2.0", "id": id, "result": "pong"}


def handshake(port, raw: bytes, timeout=3.0):
    """Sends an upgrade request; returns (status, headers dict, socket) after reading the head."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(raw)
    data = b""
    deadline = time.time() + timeout
    while b"\r\n\r\n" not in data and time.time() < deadline:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    status, _, headers, rest = parse_head(data)
    return status, dict(headers), s, rest


def assert_refused(port, raw, status, **expect_headers):
    st, headers, s, rest = handshake(port, raw)
    try:
        assert st == status, (st, headers)
        for k, v in expect_headers.items():
            assert headers.get(k.replace("_", "-").lower()) == v, headers
        assert "sec-websocket-accept" not in headers
        # A refused upgrade is answered and the connection closed.
        body = rest + read_until_close(s, 2.0)
        assert json.loads(body[:int(headers["content-length"])])["error"]
        assert headers.get("connection", "").lower() == "close"
    finally:
        s.close()


def assert_fails(ws: RawWS, code: int):
    """The server fails the connection: a close frame with `code`, then TCP close."""
    got, reason = ws.expect_close()
    assert got == code, f"expected close {code}, got {got} ({reason!r})"
    ws.expect_eof(timeout=3.0)


# ------------------------------------------------------------------ opening handshake

def test_handshake_rfc_sample_key_accepted(srv):
    st, headers, s, _ = handshake(srv.port, upgrade_request(key="dGhlIHNhbXBsZSBub25jZQ=="))
    s.close()
    assert st == 101
    assert headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert headers["upgrade"].lower() == "websocket"
    assert "upgrade" in [t.strip().lower() for t in headers["connection"].split(",")]


def test_handshake_accept_value_for_random_key(srv):
    ws = RawWS(srv.port)  # asserts 101 and the Accept value for its random key
    try:
        ws.send_text(ping_json(3))
        assert ws.recv_json() == pong(3)
    finally:
        ws.close_socket()


def test_handshake_connection_header_with_several_tokens(srv):
    st, headers, s, _ = handshake(srv.port, upgrade_request(connection="keep-alive, Upgrade"))
    s.close()
    assert st == 101
    assert headers["sec-websocket-accept"] == accept_value("dGhlIHNhbXBsZSBub25jZQ==")


def test_handshake_missing_key_is_400(srv):
    assert_refused(srv.port, upgrade_request(key=None), 400)


@pytest.mark.parametrize("key", ["not base64!", "dGhlIHNhbXBsZQ==", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZSBsb25nZXI=", ""])
def test_handshake_malformed_key_is_400(srv, key):
    # Not base64, or not decoding to exactly 16 bytes.
    assert_refused(srv.port, upgrade_request(key=key), 400)


@pytest.mark.parametrize("version", ["12", "8", "14"])
def test_handshake_wrong_version_is_426_with_supported_version(srv, version):
    assert_refused(srv.port, upgrade_request(version=version), 426, sec_websocket_version="13")


def test_handshake_post_is_405(srv):
    assert_refused(srv.port, upgrade_request(method="POST"), 405)


def test_handshake_origin_not_allowed_is_403(srv):
    assert_refused(srv.port, upgrade_request(extra=[("Origin", "https://evil.example")]), 403)


def test_handshake_allowed_origin_is_101(srv):
    ws = RawWS(srv.port, extra_headers=[("Origin", ALLOWED_ORIGIN)])
    try:
        ws.send_text(ping_json(4))
        assert ws.recv_json() == pong(4)
    finally:
        ws.close_socket()


def test_handshake_without_origin_is_101(srv):
    st, headers, s, _ = handshake(srv.port, upgrade_request())
    s.close()
    assert st == 101


def test_handshake_any_origin_allowed_when_list_is_empty(daemon_factory):
    d = daemon_factory().start()  # security.allowed_origins defaults to []
    st, headers, s, _ = handshake(d.port, upgrade_request(extra=[("Origin", "https://anything.example")]))
    s.close()
    assert st == 101, (st, headers)


def test_frames_sent_with_the_handshake_are_processed(srv):
    ws = RawWS(srv.port, first_frames=encode_frame(OP_TEXT, ping_json(9)))
    try:
        assert ws.recv_json() == pong(9)
    finally:
        ws.close_socket()


# ------------------------------------------------------------------ framing



def test_unmasked_client_frame_is_1002(ws):
    ws.send(OP_TEXT, ping_json(), mask=False)
    assert_fails(ws, 1002)


def test_fragmented_text_is_one_message(ws):
    text = ping_json(11).encode()
    ws.send(OP_TEXT, text[:5], fin=False)
    ws.send(OP_CONT, text[5:20], fin=False)
    ws.send(OP_CONT, b"", fin=False)
    ws.send(OP_CONT, text[20:], fin=True)
    assert ws.recv_json() == pong(11)
    # and the connection carries on
    ws.send_text(ping_json(12))
    assert ws.recv_json() == pong(12)


def test_multibyte_character_split_across_fragments_is_accepted(ws):
    ident = "é€😀"
    text = ping_json(ident).encode()
    cut = text.index("😀".encode()) + 2  # in the middle of the 4-byte character
    ws.send(OP_TEXT, text[:cut], fin=False)
    ws.send(OP_CONT, text[cut:], fin=True)
    assert ws.recv_json() == pong(ident)


def test_ping_between_fragments_gets_pong_and_message_completes(ws):
    text = ping_json(13).encode()
    ws.send(OP_TEXT, text[:10], fin=False)
    ws.send(OP_PING, b"between")
    fin, op, payload = ws.recv_frame()
    assert (fin, op, payload) == (True, OP_PONG, b"between")
    ws.send(OP_CONT, text[10:], fin=True)
    assert ws.recv_json() == pong(13)


@pytest.mark.parametrize("payload", [b"", b"hello", bytes(range(125))])
def test_ping_gets_pong_with_same_payload(ws, payload):
    ws.send(OP_PING, payload)
    assert ws.recv_frame() == (True, OP_PONG, payload)


def test_unsolicited_pong_is_ignored(ws):
    ws.send(OP_PONG, b"nobody asked")
    ws.send_text(ping_json(14))
    assert ws.recv_json() == pong(14)


@pytest.mark.parametrize("code", [1000, 3000, 4999])
def test_client_close_is_echoed_then_tcp_closed(ws, code):
    ws.send_close(code, b"bye")
    got, _ = ws.expect_close()
    assert got == code
    ws.expect_eof(timeout=3.0)


def test_empty_close_is_answered_and_tcp_closed(ws):
    ws.send_close(None)
    got, _ = ws.expect_close()
    assert got in (None, 1000)
    ws.expect_eof(timeout=3.0)


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
def test_invalid_close_code_is_1002(ws, code):
    ws.send_close(code)
    assert_fails(ws, 1002)


def test_one_byte_close_payload_is_1002(ws):
    ws.send(OP_CLOSE, b"\x03")
    assert_fails(ws, 1002)


def test_close_reason_invalid_utf8_is_1007(ws):
    ws.send(OP_CLOSE, struct.pack("!H", 1000) + b"\xff\xfe")
    assert_fails(ws, 1007)


@pytest.mark.parametrize("bad", [
    b"\xff",                 # never valid
    b"\xc0\xaf",             # overlong '/'
    b"\xed\xa0\x80",         # UTF-16 surrogate
    b"\xf4\x90\x80\x80",     # above U+10FFFF
    b"\x80",                 # lone continuation byte
], ids=["ff", "overlong", "surrogate", "too-big", "lone-continuation"])
def test_invalid_utf8_single_frame_is_1007(ws, bad):
    ws.send(OP_TEXT, b'{"jsonrpc":"2.0","method":"ping","id":"' + bad + b'"}')
    assert_fails(ws, 1007)


def test_invalid_utf8_across_fragments_is_1007(ws):
    # A surrogate whose lead byte ends the first fragment: only invalid once both are seen.
    ws.send(OP_TEXT, b'{"jsonrpc":"2.0","method":"ping","id":"\xed', fin=False)
    ws.send(OP_CONT, b'\xa0\x80"}', fin=True)
    assert_fails(ws, 1007)


def test_invalid_utf8_in_fragment_fails_before_message_ends(ws):
    # RFC 6455 §8.1: fail as soon as the bytes cannot be valid, not only at the last fragment.
    ws.send(OP_TEXT, b'{"jsonrpc":"2.0",', fin=False)
    ws.send(OP_CONT, b'"method":"\xff', fin=False)
    assert_fails(ws, 1007)


def test_message_ending_mid_character_single_frame_is_1007(ws):
    ws.send(OP_TEXT, b'"abc\xe2\x82')
    assert_fails(ws, 1007)


def test_message_ending_mid_character_across_fragments_is_1007(ws):
    ws.send(OP_TEXT, b'"abc\xe2', fin=False)
    ws.send(OP_CONT, b"\x82", fin=True)
    assert_fails(ws, 1007)


def padded_ping(total_len, id_prefix="p"):
    base = len(ping_json(id_prefix).encode())
    ident = id_prefix + "x" * (total_len - base)
    text = ping_json(ident)
    assert len(text.encode()) == total_len
    return text, ident


def test_message_of_exactly_max_size_is_accepted(ws):
    text, ident = padded_ping(MAX_MESSAGE)
    ws.send_text(text)
    assert ws.recv_json() == pong(ident)


def test_message_over_max_size_single_frame_is_1009(ws):
    text, _ = padded_ping(MAX_MESSAGE + 1)
    ws.send_text(text)
    assert_fails(ws, 1009)


def test_message_over_max_size_across_fragments_is_1009(ws):
    text, _ = padded_ping(MAX_MESSAGE + 500)
    data = text.encode()
    ws.send(OP_TEXT, data[:1000], fin=False)
    ws.send(OP_CONT, data[1000:2000], fin=False)
    ws.send(OP_CONT, data[2000:], fin=True)
    assert_fails(ws, 1009)


def test_huge_declared_length_is_1009_without_payload(ws):
    # A 64-bit length far over the limit: refused on the header alone.
    ws.send_raw(encode_frame(OP_TEXT, b"", length_override=1 << 40)[:14])
    assert_fails(ws, 1009)


def test_binary_frame_is_1003(ws):
    ws.send(OP_BINARY, ping_json().encode())
    assert_fails(ws, 1003)


@pytest.mark.parametrize("rsv", [1, 2, 4, 7])
def test_rsv_bits_set_is_1002(ws, rsv):
    ws.send(OP_TEXT, ping_json(), rsv=rsv)
    assert_fails(ws, 1002)


@pytest.mark.parametrize("opcode", [0x3, 0x7, 0xB, 0xF])
def test_reserved_opcode_is_1002(ws, opcode):
    ws.send(opcode, b"x")
    assert_fails(ws, 1002)


@pytest.mark.parametrize("opcode", [OP_PING, OP_PONG, OP_CLOSE])
def test_control_frame_payload_over_125_is_1002(ws, opcode):
    payload = struct.pack("!H", 1000) + b"r" * 124 if opcode == OP_CLOSE else b"p" * 126
    ws.send(opcode, payload)
    assert_fails(ws, 1002)


def test_fragmented_control_frame_is_1002(ws):
    ws.send(OP_PING, b"part", fin=False)
    assert_fails(ws, 1002)


def test_continuation_without_start_is_1002(ws):
    ws.send(OP_CONT, ping_json(), fin=True)
    assert_fails(ws, 1002)


def test_new_text_frame_while_fragmented_message_open_is_1002(ws):
    ws.send(OP_TEXT, b'{"jsonrpc":', fin=False)
    ws.send(OP_TEXT, ping_json(), fin=True)
    assert_fails(ws, 1002)


def test_new_binary_frame_while_fragmented_message_open_is_1002(ws):
    ws.send(OP_TEXT, b'{"jsonrpc":', fin=False)
    ws.send(OP_BINARY, b"x", fin=True)
    assert_fails(ws, 1002)


def test_failed_connection_does_not_affect_others(srv):
    good = RawWS(srv.port)
    bad = RawWS(srv.port)
    try:
        bad.send(OP_TEXT, b"x", mask=False)
        assert_fails(bad, 1002)
        good.send_text(ping_json(21))
        assert good.recv_json() == pong(21)
    finally:
        good.close_socket()
        bad.close_socket()


# ------------------------------------------------------------------ keepalive

KEEPALIVE = {"server": {"ping_interval": "1s", "ping_timeout": "2s"}}


def test_keepalive_client_answering_pings_stays_connected(daemon_factory):
    d = daemon_factory(config=KEEPALIVE).start()
    ws = RawWS(d.port)
    try:
        pings = 0
        end = time.time() + 4.5
        while time.time() < end:
            try:
                fin, op, payload = ws.recv_frame(timeout=max(0.01, end - time.time()))
            except socket.timeout:
                break
            assert op == OP_PING, f"unexpected frame {op}"
            pings += 1
            ws.send(OP_PONG, payload)
        assert pings >= 2, f"server sent {pings} pings in 4.5 s with ping_interval 1s"
        ws.send_text(ping_json(31))
        assert ws.recv_json() == pong(31)
    finally:
        ws.close_socket()


def test_keepalive_clients_answering_with_small_latencies_stay_connected(daemon_factory):
    # Real clients answer a ping a few milliseconds after it arrives. Several clients, each
    # answering every ping within 0-4 ms, must all stay connected: a client that answered
    # every ping it was sent has done all the contract asks of it.
    d = daemon_factory(config=KEEPALIVE).start()
    delays = [i * 0.000125 for i in range(33)]
    clients = [RawWS(d.port) for _ in delays]
    try:
        pings = [0] * len(clients)
        closed_at = {}
        due = []  # (when, client index, payload)
        t0 = time.time()
        end = t0 + 4.5
        while time.time() < end:
            now = time.time()
            for item in [x for x in due if x[0] <= now]:
                due.remove(item)
                if item[1] not in closed_at:
                    clients[item[1]].send(OP_PONG, item[2])
            live = [c.sock for i, c in enumerate(clients) if i not in closed_at]
            wait = min([end - now] + [x[0] - now for x in due])
            readable, _, _ = select.select(live, [], [], max(0.0, wait))
            for sock in readable:
                i = next(k for k, c in enumerate(clients) if c.sock is sock)
                try:
                    _, op, payload = clients[i].recv_frame(timeout=0.5)
                except Closed:
                    closed_at[i] = round(time.time() - t0, 3)
                    continue
                assert op == OP_PING, f"unexpected frame {op}"
                pings[i] += 1
                due.append((time.time() + delays[i], i, payload))
        assert not closed_at, (f"clients that answered every ping were disconnected: "
                               f"{ {f'{delays[i] * 1000:.2f} ms': t for i, t in closed_at.items()} } (s after connect); "
                               f"pings received per client: {pings}")
        assert min(pings) >= 2, pings
        for i, c in enumerate(clients):
            c.send_text(ping_json(i))
            assert c.recv_json() == pong(i)
    finally:
        for c in clients:
            c.close_socket()


def test_keepalive_client_answering_each_ping_within_50ms_stays_connected(daemon_factory):
    # ping_interval 1s, ping_timeout 1.5s: a client that answers every ping 50 ms after it
    # arrives never leaves a ping unanswered for more than 50 ms, so it must stay connected.
    d = daemon_factory(config={"server": {"ping_interval": "1s", "ping_timeout": "1500ms"}}).start()
    ws = RawWS(d.port)
    try:
        t0 = time.time()
        seen = []
        end = t0 + 4.5
        try:
            while time.time() < end:
                try:
                    _, op, payload = ws.recv_frame(timeout=max(0.01, end - time.time()))
                except socket.timeout:
                    break
                assert op == OP_PING, f"unexpected frame {op}"
                seen.append(round(time.time() - t0, 3))
                time.sleep(0.05)
                ws.send(OP_PONG, payload)
        except Closed:
            raise AssertionError(f"disconnected {time.time() - t0:.2f} s after connecting although every ping was "
                                 f"answered within 50 ms; pings arrived at {seen} s")
        assert len(seen) >= 3, f"pings at {seen} s with ping_interval 1s"
        ws.send_text(ping_json(33))
        assert ws.recv_json() == pong(33)
    finally:
        ws.close_socket()


def test_keepalive_silent_client_is_disconnected(daemon_factory):
    d = daemon_factory(config=KEEPALIVE).start()
    ws = RawWS(d.port)
    try:
        started = time.time()
        saw_ping = False
        with pytest.raises(Closed):
            while time.time() - started < 6:
                try:
                    _, op, _ = ws.recv_frame(timeout=0.5)  # read, but never answer
                except socket.timeout:
                    continue
                if op == OP_PING:
                    saw_ping = True
        elapsed = time.time() - started
        assert saw_ping, "the server never pinged before giving up"
        assert 1.5 <= elapsed <= 5.0, f"closed after {elapsed:.1f}s (ping_timeout 2s)"
    finally:
        ws.close_socket()


# ------------------------------------------------------------------ graceful shutdown

def test_sigterm_sends_1001_and_exits_0(daemon_factory):
    d = daemon_factory(config={"server": {"shutdown_timeout": "3s"}}).start()
    polite = RawWS(d.port)
    silent = RawWS(d.port)
    try:
        for c, i in ((polite, 41), (silent, 42)):
            c.send_text(ping_json(i))
            assert c.recv_json() == pong(i)
        t0 = time.time()
        d.proc.send_signal(signal.SIGTERM)
        code, reason = polite.expect_close(timeout=4)
        assert code == 1001, (code, reason)
        polite.send_close(1001)
        polite.expect_eof(timeout=3)
        code, _ = silent.expect_close(timeout=4)  # never answers: the server still goes
        assert code == 1001
        silent.expect_eof(timeout=5)
        assert d.proc.wait(timeout=8) == 0
        assert time.time() - t0 < 6
    finally:
        polite.close_socket()
        silent.close_socket()


def test_sigterm_with_websockets_library_client(daemon_factory):
    import asyncio
    import websockets

    d = daemon_factory().start()

    async def go():
        async with websockets.connect(d.url) as c:
            await c.send(ping_json(43))
            assert json.loads(await c.recv()) == pong(43)
            d.proc.send_signal(signal.SIGTERM)
            with pytest.raises(websockets.ConnectionClosed) as e:
                await asyncio.wait_for(c.recv(), 5)
            assert e.value.rcvd is not None and e.value.rcvd.code == 1001
    asyncio.run(go())
    assert d.proc.wait(timeout=8) == 0


# ------------------------------------------------------------------ slow readers

SLOW = {"server": {"max_outbound_bytes": 4096}}


def flood(port, frames, deadline_s=10):
    """Sends `frames` on a raw WebSocket that never reads; returns (raw, sent_all)."""
    c = RawWS(port, rcvbuf=4096)
    c.sock.settimeout(2.0)
    sent_all = True
    try:
        for f in frames:
            c.send_raw(f)
    except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
        sent_all = False
    return c, sent_all


def assert_disconnected(c: RawWS, timeout=6.0):
    """Reads what the server sent, frame by frame: whole frames (the queue is cut at a frame
    boundary), then the 1008 close the contract promises a slow reader, then the end of the
    stream. A stall, a cut frame or an end without that close frame fails."""
    deadline = time.time() + timeout
    while True:
        try:
            _, op, payload = c.recv_frame(max(0.01, deadline - time.time()))
        except socket.timeout:
            raise AssertionError("slow reader was never disconnected")
        except Closed:
            raise AssertionError("the connection ended without a close frame")
        if op == OP_CLOSE:
            assert close_code(payload) == 1008, f"close {close_code(payload)} {payload[2:]!r}, expected 1008"
            assert payload[2:] == b"outbound queue full", payload
            break
        assert op in (OP_TEXT, OP_PONG), f"unexpected frame op={op}"
    try:
        c.send_close(1008)  # answered as a client does: the server then closes at once
    except OSError:
        pass
    try:  # nothing follows the close frame but the end of the stream
        c.recv_frame(max(0.01, deadline - time.time()))
        raise AssertionError("a frame after the close frame")
    except Closed:
        pass
    except socket.timeout:
        raise AssertionError("the server did not close the connection after the close handshake")


def assert_logged_slow_reader(d):
    msgs = [l.get("msg", "") for l in d.log_lines()]
    assert any("slow reader" in m for m in msgs), "no slow-reader warning in the daemon log"


def test_slow_reader_of_rpc_replies_is_disconnected(daemon_factory):
    d = daemon_factory(config=SLOW).start()
    other = RawWS(d.port)
    try:
        big = "i" * 1000
        frames = (encode_frame(OP_TEXT, ping_json(f"{big}{i}")) for i in range(3000))
        slow, _ = flood(d.port, frames)
        try:
            other.send_text(ping_json(51))
            assert other.recv_json() == pong(51)
            assert_disconnected(slow)
            assert_logged_slow_reader(d)
        finally:
            slow.close_socket()
        other.send_text(ping_json(52))
        assert other.recv_json() == pong(52)
    finally:
        other.close_socket()


def test_slow_reader_of_batch_replies_is_disconnected(daemon_factory):
    d = daemon_factory(config=SLOW).start()
    other = RawWS(d.port)
    try:
        batch = json.dumps([{"jsonrpc": "2.0", "method": "ping", "id": "b" * 200 + str(i)} for i in range(50)])
        slow, _ = flood(d.port, (encode_frame(OP_TEXT, batch) for _ in range(400)))
        try:
            other.send_text(ping_json(53))
            assert other.recv_json() == pong(53)
            assert_disconnected(slow)
            assert_logged_slow_reader(d)
        finally:
            slow.close_socket()
    finally:
        other.close_socket()


def test_slow_reader_of_pongs_is_disconnected(daemon_factory):
    # Pong frames are outbound data too: a client that floods pings and never reads must hit
    # the same bounded outbound queue (contract §7) instead of growing server memory.
    d = daemon_factory(config=SLOW).start()
    other = RawWS(d.port)
    try:
        frames = (encode_frame(OP_PING, b"q" * 125) for _ in range(40000))
        slow, _ = flood(d.port, frames)
        try:
            other.send_text(ping_json(54))
            assert other.recv_json() == pong(54)
            assert_disconnected(slow)
            assert_logged_slow_reader(d)
        finally:
            slow.close_socket()
    finally:
        other.close_socket()


# ------------------------------------------------------------------ connection limit

def test_max_connections_fourth_upgrade_gets_503(daemon_factory):
    # The three clients authenticate: an unauthenticated crowd would instead be thinned by the
    # budget for strangers (test_admission.py).
    d = daemon_factory(config={"server": {"max_connections": 3}}).start()
    time.sleep(0.5)  # let the readiness probe's connection be reaped
    clients = []
    try:
        for i in range(3):
            c = RawWS(d.port)
            c.send_text(json.dumps({"jsonrpc": "2.0", "method": "authenticate", "params": {"auth_token": make_token("viewer")}, "id": 1}))
            assert c.recv_json()["result"]["authenticated"] is True
            c.send_text(ping_json(60 + i))
            assert c.recv_json() == pong(60 + i)
            clients.append(c)
        st, headers, s, rest = handshake(d.port, upgrade_request())
        try:
            assert st == 503, (st, headers)
            assert "sec-websocket-accept" not in headers
            body = rest + read_until_close(s, 2.0)
            assert json.loads(body[:int(headers["content-length"])])["error"]
        finally:
            s.close()
        # The three admitted clients are still served.
        for i, c in enumerate(clients):
            c.send_text(ping_json(70 + i))
            assert c.recv_json() == pong(70 + i)
        # A slot freed is a slot available again.
        clients[0].send_close(1000)
        clients[0].expect_close()
        clients[0].expect_eof()
        time.sleep(0.1)
        c = RawWS(d.port)
        clients.append(c)
        c.send_text(ping_json(80))
        assert c.recv_json() == pong(80)
    finally:
        for c in clients:
            c.close_socket()
