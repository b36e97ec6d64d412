"""Plain HTTP on the service port (API.md sections 1 and 6): the health endpoints through
curl, and the HTTP/1.1 parser's refusals, keep-alive and pipelining through raw sockets.
"""
import re
import socket
import subprocess
import time
from datetime import datetime

import pytest

from conftest import Daemon
from rawws import HTTPResponse, http_exchange, http_request, parse_head, parse_responses


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("http"))
    d.start()
    yield d
    d.end()


def curl(url, *args, timeout=5):
    """Runs curl -i; returns an HTTPResponse (status, headers, body)."""
    p = subprocess.run(["curl", "-s", "-i", "--max-time", "3", *args, url], capture_output=True, timeout=timeout)
    assert p.returncode == 0, f"curl failed ({p.returncode}): {p.stderr!r}"
    status, reason, headers, body = parse_head(p.stdout)
    return HTTPResponse(status, reason, headers, body)


def get(port, target, extra=b""):
    return f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + extra + b"\r\n"


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


# ------------------------------------------------------------------ endpoints (curl)

def test_health(srv):
    r = curl(srv.http + "/health")
    assert r.status == 200
    assert r.header("content-type").startswith("application/json")
    body = r.json()
    assert body["status"] == "healthy", body
    assert RFC3339.match(body["timestamp"]), body
    datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert isinstance(body["version"], str) and body["version"], body
    assert isinstance(body["uptime"], (int, float)) and 0 <= body["uptime"] < 600, body
    assert int(r.header("content-length")) == len(r.body)


def test_health_uptime_increases(srv):
    a = curl(srv.http + "/health").json()["uptime"]
    time.sleep(0.3)
    b = curl(srv.http + "/health").json()["uptime"]
    assert b > a


def test_health_live(srv):
    r = curl(srv.http + "/health/live")
    assert r.status == 200
    assert r.json() == {"alive": True}


def test_health_ready(srv):
    r = curl(srv.http + "/health/ready")
    assert r.status == 200
    body = r.json()
    assert body["ready"] is True and isinstance(body["message"], str), body


def test_health_with_query_string(srv):
    r = curl(srv.http + "/health?verbose=1")
    assert r.status == 200 and r.json()["status"] == "healthy"


@pytest.mark.parametrize("path", ["/nope", "/healthz", "/health/unknown", "/", "/files", "/ws/extra"])
def test_unknown_path_is_404_json(srv, path):
    r = curl(srv.http + path)
    assert r.status == 404
    assert r.header("content-type").startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"], body


@pytest.mark.parametrize("method,path", [("POST", "/health"), ("PUT", "/health/live"), ("DELETE", "/health/ready"), ("PATCH", "/health")])
def test_wrong_method_is_405(srv, method, path):
    r = curl(srv.http + path, "-X", method)
    assert r.status == 405, r
    assert "GET" in r.header("allow"), r.headers
    assert "error" in r.json()


def test_head_with_curl(srv):
    p = subprocess.run(["curl", "-s", "-I", "--max-time", "3", srv.http + "/health"], capture_output=True, timeout=5)
    assert p.returncode == 0, p.stderr
    status, _, headers, rest = parse_head(p.stdout)
    assert status == 200
    assert int(dict(headers)["content-length"]) > 0
    assert rest == b""


# ------------------------------------------------------------------ parser refusals (raw)

def assert_error_and_close(port, raw, status):
    data = http_exchange(port, raw, timeout=3)
    rs = parse_responses(data)
    assert len(rs) == 1, rs
    r = rs[0]
    assert r.status == status, r
    assert r.header("connection").lower() == "close", r.headers
    assert "error" in r.json()
    return r


@pytest.mark.parametrize("raw", [
    b"GARBAGE\r\n\r\n",
    b"GET /health\r\nHost: x\r\n\r\n",
    b"GET  /health HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /health HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    b"GET health HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /health FTP/1.1\r\nHost: x\r\n\r\n",
    b"G(T /health HTTP/1.1\r\nHost: x\r\n\r\n",
], ids=["garbage", "no-version", "double-space", "four-parts", "relative-target", "bad-protocol", "bad-method-char"])
def test_malformed_request_line_is_400(srv, raw):
    assert_error_and_close(srv.port, raw, 400)


@pytest.mark.parametrize("raw", [
    b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\n: empty-name\r\n\r\n",
], ids=["space-in-name", "no-colon", "empty-name"])
def test_malformed_header_is_400(srv, raw):
    assert_error_and_close(srv.port, raw, 400)


def test_unsupported_http_version_is_505(srv):
    assert_error_and_close(srv.port, b"GET /health HTTP/2.0\r\nHost: x\r\n\r\n", 505)


def test_headers_over_16k_are_431(srv):
    assert_error_and_close(srv.port, get(srv.port, "/health", b"X-Big: " + b"a" * 17000 + b"\r\n"), 431)


def test_many_headers_over_16k_are_431(srv):
    extra = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 200) for i in range(90))
    assert_error_and_close(srv.port, get(srv.port, "/health", extra), 431)


def test_headers_just_under_limit_are_accepted(srv):
    r = http_request(srv.port, get(srv.port, "/health/live", b"X-Big: " + b"a" * 15000 + b"\r\nConnection: close\r\n"))
    assert r.status == 200


def test_content_length_over_limit_is_413(srv):
    raw = b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
    assert_error_and_close(srv.port, raw, 413)


@pytest.mark.parametrize("value", [b"abc", b"-1", b"1, 2"])
def test_invalid_content_length_is_400(srv, value):
    assert_error_and_close(srv.port, b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: " + value + b"\r\n\r\n", 400)


def test_transfer_encoding_chunked_is_501(srv):
    raw = b"POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    assert_error_and_close(srv.port, raw, 501)


def test_http11_without_host_is_400(srv):
    assert_error_and_close(srv.port, b"GET /health HTTP/1.1\r\nAccept: */*\r\n\r\n", 400)


def test_http10_without_host_is_served_and_closed(srv):
    data = http_exchange(srv.port, b"GET /health/live HTTP/1.0\r\n\r\n")
    rs = parse_responses(data)
    assert [r.status for r in rs] == [200]
    assert rs[0].json() == {"alive": True}


def test_error_response_closes_even_with_following_request(srv):
    # After a refused request the connection is closed: the pipelined request is not served.
    data = http_exchange(srv.port, b"BROKEN\r\n\r\nGET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
    rs = parse_responses(data)
    assert [r.status for r in rs] == [400]


# ------------------------------------------------------------------ connection handling

def test_pipelined_requests_get_responses_in_order(srv):
    raw = (get(srv.port, "/health/live") + get(srv.port, "/nope") + get(srv.port, "/health")
           + get(srv.port, "/health/ready", b"Connection: close\r\n"))
    rs = parse_responses(http_exchange(srv.port, raw))
    assert [r.status for r in rs] == [200, 404, 200, 200]
    assert rs[0].json() == {"alive": True}
    assert "error" in rs[1].json()
    assert rs[2].json()["status"] == "healthy"
    assert rs[3].json()["ready"] is True
    assert rs[3].header("connection").lower() == "close"


def read_one_response(s, timeout=3.0):
    data = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if b"\r\n\r\n" in data:
            status, reason, headers, rest = parse_head(data)
            n = int(dict(headers).get("content-length", "0"))
            if len(rest) >= n:
                return HTTPResponse(status, reason, headers, rest[:n]), rest[n:]
        s.settimeout(max(0.01, deadline - time.time()))
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    raise AssertionError(f"no complete response: {data[:300]!r}")


def test_keep_alive_serves_sequential_requests_on_one_socket(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=3) as s:
        for path, status in (("/health/live", 200), ("/nope", 404), ("/health", 200)):
            s.sendall(get(srv.port, path))
            r, rest = read_one_response(s)
            assert rest == b""
            assert r.status == status
            assert r.header("connection").lower() == "keep-alive"


def test_request_split_across_packets(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=3) as s:
        raw = get(srv.port, "/health/live")
        for i in range(0, len(raw), 7):
            s.sendall(raw[i:i + 7])
            time.sleep(0.01)
        r, _ = read_one_response(s)
        assert r.status == 200 and r.json() == {"alive": True}


def test_head_has_headers_but_no_body(srv):
    # A GET pipelined behind the HEAD must start right where the HEAD's head ends.
    raw = b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n" + get(srv.port, "/health/live", b"Connection: close\r\n")
    data = http_exchange(srv.port, raw)
    status, _, headers, rest = parse_head(data)
    assert status == 200
    assert int(dict(headers)["content-length"]) > 0
    assert dict(headers)["content-type"].startswith("application/json")
    assert rest.startswith(b"HTTP/1.1 200"), rest[:100]
    second = parse_responses(rest)
    assert len(second) == 1 and second[0].json() == {"alive": True}


def test_connection_close_closes_after_response(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=3) as s:
        s.sendall(get(srv.port, "/health/live", b"Connection: close\r\n"))
        r, rest = read_one_response(s)
        assert r.status == 200
        assert r.header("connection").lower() == "close"
        s.settimeout(2)
        assert rest + s.recv(65536) == b"", "server kept the connection open after Connection: close"


def test_request_body_within_limit_is_read_and_connection_reused(srv):
    body = b'{"x":1}'
    raw = (b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
           + get(srv.port, "/health/live", b"Connection: close\r\n"))
    rs = parse_responses(http_exchange(srv.port, raw))
    assert [r.status for r in rs] == [405, 200]


def test_pipelining_client_that_never_reads_is_disconnected(daemon_factory):
    # Responses to pipelined requests are queued like WebSocket replies: a client that keeps
    # pipelining and never reads hits the bounded outbound queue instead of growing the
    # server's memory, and other clients are still served.
    # /health/live answers on the network thread, so the queue fills at full speed; slower
    # (task-run) routes reach the same bound later, once the kernel's socket buffers are full.
    d = daemon_factory(config={"server": {"max_outbound_bytes": 4096}}).start()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(2)
    s.connect(("127.0.0.1", d.port))
    try:
        req = get(d.port, "/health/live")
        try:
            for _ in range(200):
                s.sendall(req * 100)
        except OSError:
            pass  # the server closed on us: what this test wants
        r = curl(d.http + "/health/live")
        assert r.status == 200 and r.json() == {"alive": True}
        deadline = time.time() + 4
        s.settimeout(0.5)
        while True:
            assert time.time() < deadline, "pipelining client that never reads was never disconnected"
            try:
                chunk = s.recv(1 << 20)
            except socket.timeout:
                continue
            except OSError:
                break
            if not chunk:
                break
    finally:
        s.close()
