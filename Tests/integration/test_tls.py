"""TLS on the same port: wss:// with Python's websockets and https:// with curl, certificates
made with the openssl command; bad certificate files stop start-up with exit code 2."""
import asyncio
import json
import socket
import ssl
import subprocess

import pytest
import websockets

from conftest import make_token, rpc_message


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return d


def test_wss_and_https_on_one_port(daemon_factory, certs):
    d = daemon_factory(config={"server": {"tls": {"cert_file": str(certs / "cert.pem"), "key_file": str(certs / "key.pem")}}}).start()
    ctx = ssl.create_default_context(cafile=str(certs / "cert.pem"))

    async def go():
        async with websockets.connect(f"wss://127.0.0.1:{d.port}/ws", ssl=ctx, max_size=None) as ws:
            await ws.send(rpc_message("ping"))
            pong = json.loads(await ws.recv())
            await ws.send(rpc_message("authenticate", {"auth_token": make_token("viewer")}, id=2))
            await ws.recv()
            big = "x" * 200_000  # many TLS records in one message each way
            await ws.send(json.dumps({"jsonrpc": "2.0", "method": "nope", "id": big}))
            echoed = json.loads(await ws.recv())
            await ws.send(rpc_message("get_camera_list", id=3))
            cams = json.loads(await ws.recv())
            return pong, echoed, cams
    pong, echoed, cams = asyncio.run(go())
    assert pong["result"] == "pong"
    assert echoed["id"] == "x" * 200_000 and echoed["error"]["code"] == -32601
    assert cams["result"]["total"] == 2
    r = subprocess.run(["curl", "-s", "--cacert", str(certs / "cert.pem"), f"https://127.0.0.1:{d.port}/health/live"],
                       capture_output=True, text=True, timeout=10)
    assert json.loads(r.stdout) == {"alive": True}
    plain = subprocess.run(["curl", "-s", "-m", "3", f"http://127.0.0.1:{d.port}/health/live"], capture_output=True, text=True)
    assert plain.stdout == ""  # plain HTTP is not served on a TLS port
    assert "wss/https (TLS)" in d.log_text()


def test_tls_handshake_garbage_is_dropped_and_others_served(daemon_factory, certs):
    d = daemon_factory(config={"server": {"tls": {"cert_file": str(certs / "cert.pem"), "key_file": str(certs / "key.pem")}}}).start()
    import socket
    with socket.create_connection(("127.0.0.1", d.port), timeout=3) as s:
        s.sendall(b"\x16\x03\x01\x00\x05hello-not-tls" * 10)
        s.settimeout(3)
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        assert len(data) < 100  # at most an alert, then the close
    r = subprocess.run(["curl", "-s", "--cacert", str(certs / "cert.pem"), f"https://127.0.0.1:{d.port}/health/live"],
                       capture_output=True, text=True, timeout=10)
    assert json.loads(r.stdout) == {"alive": True}


@pytest.mark.parametrize("which", ["cert", "key", "mismatch"])
def test_bad_tls_files_stop_startup(daemon_factory, certs, tmp_path, which):
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(other / "key.pem"), "-out",
                    str(other / "cert.pem"), "-days", "1", "-subj", "/CN=x"], check=True, capture_output=True)
    files = {"cert": ("/nonexistent.pem", str(certs / "key.pem")), "key": (str(certs / "cert.pem"), "/nonexistent.pem"),
             "mismatch": (str(certs / "cert.pem"), str(other / "key.pem"))}[which]
    d = daemon_factory(config={"server": {"tls": {"cert_file": files[0], "key_file": files[1]}}})
    d.expect_end(exit_code=2).start(wait=False)
    assert d.wait_exit() == 2
    assert "TLS:" in d.log_text()


def test_tls_slow_reader_is_closed_with_1008(daemon_factory, certs, fixtures):
    """With TLS the queue holds plaintext until the socket takes it, so a slow reader still gets
    its 1008 close frame after the frame in flight."""
    plugins = [{"name": "jwt_auth", "library": "JWTAuth", "required": True, "config": {"secret": "integration-test-secret-0123456789abcdef0123456789"}},
               {"name": "fixture_events", "library": str(fixtures / "libFixtureEventSource.so")}]
    d = daemon_factory(plugins=plugins, config={"server": {"max_outbound_bytes": 65536,
                                                          "tls": {"cert_file": str(certs / "cert.pem"), "key_file": str(certs / "key.pem")}}}).start()
    ctx = ssl.create_default_context(cafile=str(certs / "cert.pem"))

    async def go():
        slow = await websockets.connect(f"wss://127.0.0.1:{d.port}/ws", ssl=ctx, max_size=None, max_queue=1)
        await slow.send(json.dumps({"jsonrpc": "2.0", "method": "subscribe_events", "id": 1,
                                    "params": {"topics": ["snapshot.taken"], "auth_token": make_token("viewer")}}))
        await slow.recv()
        async with websockets.connect(f"wss://127.0.0.1:{d.port}/ws", ssl=ctx) as admin:
            await admin.send(rpc_message("authenticate", {"auth_token": make_token("admin")}))
            await admin.recv()
            slow.transport.pause_reading()  # stop reading at the socket level
            await admin.send(rpc_message("fixture.emit", {"topic": "snapshot.taken", "params": {"pad": "x" * 4000}, "count": 3000}, id=2))
            await admin.recv()
            await asyncio.sleep(1.0)
        slow.transport.resume_reading()
        code = None
        try:
            while True:
                await asyncio.wait_for(slow.recv(), 10)
        except websockets.ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd else None
        return code
    assert asyncio.run(go()) == 1008
    assert any("slow reader" in l.get("msg", "") for l in d.log_lines())


def test_a_refused_tls_client_reads_its_503(daemon_factory, certs):
    """Over the per-address cap on a TLS port: the handshake completes, then the same readable
    503 as in plain HTTP, never a reset."""
    d = daemon_factory(config={"server": {"max_connections_per_ip": 2,
                                          "tls": {"cert_file": str(certs / "cert.pem"), "key_file": str(certs / "key.pem")}}}).start()
    ctx = ssl.create_default_context(cafile=str(certs / "cert.pem"))

    def tls_from(address):
        raw = socket.socket()
        raw.settimeout(5)
        raw.bind((address, 0))
        raw.connect(("127.0.0.1", d.port))
        return ctx.wrap_socket(raw, server_hostname="localhost")
    held = [tls_from("127.0.0.7") for _ in range(2)]
    try:
        s = tls_from("127.0.0.7")
        s.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
    finally:
        for h in held:
            h.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in head, data[:200]
    assert json.loads(body)["limit"] == "max_connections_per_ip"
