"""Shared fixtures: start the real camera-service binary with a temporary config.

The daemon binary is taken from $CAMERA_SERVICE_BIN, else .build/debug/camera-service.
Every daemon gets its own port, config.yaml and plugins.yaml in a temp dir; its log
(JSON lines on stderr) is captured for assertions.

At teardown every daemon must end as expected: by default it is stopped with SIGTERM and must
exit 0, so a daemon that crashed during the test, hung on shutdown or exited non-zero fails
the test. A test that ends its daemon differently on purpose says so with `expect_end`.
"""
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import jwt as pyjwt
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("CAMERA_SERVICE_BIN", REPO / ".build" / "debug" / "camera-service"))
BUILD_DIR = BIN.parent
SECRET = "integration-test-secret-0123456789abcdef0123456789"

DEFAULT_PLUGINS = [
    {"name": "jwt_auth", "library": "JWTAuth", "required": True, "config": {"secret": SECRET}},
    {"name": "test_pattern_source", "library": "TestPatternSource"},
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_token(role="admin", user="tester", ttl=3600, secret=SECRET, **extra):
    now = int(time.time())
    claims = {"user_id": user, "role": role, "iat": now, "exp": now + ttl}
    claims.update(extra)
    return pyjwt.encode(claims, secret, algorithm="HS256")


class Daemon:
    def __init__(self, tmp: Path, config: dict = None, plugins=None, env=None, args=None, raw_config=None, raw_plugins=None):
        self.tmp = tmp
        self.port = free_port()
        # Every test client comes from 127.0.0.1: keep the per-IP failed-auth backoff out of the
        # way of tests that fail on purpose (test_security.py tests it with a low threshold).
        cfg = {"server": {"host": "127.0.0.1", "port": self.port}, "logging": {"level": "debug", "format": "json"},
               "security": {"rate_limit": {"auth_failures_before_backoff": 1000}}}
        def merge(dst, src):
            for k, v in src.items():
                if isinstance(v, dict) and isinstance(dst.get(k), dict):
                    merge(dst[k], v)
                else:
                    dst[k] = v
        merge(cfg, config or {})
        self.config_path = tmp / "config.yaml"
        self.plugins_path = tmp / "plugins.yaml"
        self.config_path.write_text(raw_config if raw_config is not None else json.dumps(cfg))
        self.plugins_path.write_text(raw_plugins if raw_plugins is not None else json.dumps({"plugins": plugins if plugins is not None else DEFAULT_PLUGINS}))
        self.env = dict(os.environ)
        self.env.pop("CAMERA_SERVICE_JWT_SECRET", None)
        self.env.update(env or {})
        self.args = args or []
        self.proc = None
        self.log_path = tmp / "daemon.log"
        # How the daemon must end: ("exit", code) or ("signal", signum). See expect_end().
        self.expected_end = ("exit", 0)

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait=True, timeout=10):
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(BIN), "--config", str(self.config_path)] + self.args,
                                     stdout=self.log_file, stderr=subprocess.STDOUT, env=self.env, cwd=self.tmp)
        if wait:
            deadline = time.time() + timeout
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"daemon exited with {self.proc.returncode}:\n{self.log_text()}")
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        return self
                except OSError:
                    time.sleep(0.05)
            raise RuntimeError(f"daemon did not listen in {timeout}s:\n{self.log_text()}")
        return self

    def wait_exit(self, timeout=15):
        return self.proc.wait(timeout=timeout)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def expect_end(self, exit_code=None, signal=None):
        """Declares the end this test gives the daemon on purpose: an exit code (2 for a refused
        configuration) or death by a signal (SIGKILL). Teardown then requires exactly that."""
        assert (exit_code is None) != (signal is None), "expect_end takes exit_code or signal"
        self.expected_end = ("exit", exit_code) if signal is None else ("signal", int(signal))
        return self

    def end_problem(self, timeout=15):
        """Stops the daemon if it still runs (SIGTERM); returns why its end is not the expected
        one, or None."""
        if self.proc is None:
            return None
        hung = False
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                hung = True
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        actual = ("signal", -code) if code < 0 else ("exit", code)
        if hung:
            problem = f"daemon did not exit within {timeout} s of SIGTERM"
        elif actual != self.expected_end:
            what = lambda e: f"exit code {e[1]}" if e[0] == "exit" else f"signal {signal.Signals(e[1]).name}"
            problem = f"daemon ended with {what(actual)}, expected {what(self.expected_end)}"
        else:
            return None
        tail = "\n".join(self.log_text().splitlines()[-15:])
        return f"{problem} (port {self.port}); last log lines:\n{tail}"

    def end(self):
        """Stops the daemon and fails the test when it did not end as expected (for fixtures
        that manage a Daemon themselves)."""
        problem = self.end_problem()
        if problem:
            pytest.fail(problem, pytrace=False)

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self):
        out = []
        for line in self.log_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out


@pytest.fixture
def daemon_factory(tmp_path):
    started = []

    def make(**kw):
        sub = tmp_path / f"d{len(started)}"
        sub.mkdir()
        d = Daemon(sub, **kw)
        started.append(d)
        return d

    yield make
    problems = [p for p in (d.end_problem() for d in started) if p]
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def daemon(daemon_factory):
    return daemon_factory().start()


def wait_for(condition, what, timeout=15):
    """Polls `condition` until it gives something true (returned), or fails naming `what`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = condition()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def rpc_message(method, params=None, id=1):
    m = {"jsonrpc": "2.0", "method": method, "id": id}
    if params is not None:
        m["params"] = params
    return json.dumps(m)


@pytest.fixture(scope="session")
def fixtures(tmp_path_factory):
    """The test plugins of Tests/Fixtures, built against the PluginAPI of the binary under test."""
    out = tmp_path_factory.mktemp("fixtures")
    subprocess.run([str(REPO / "Tests/Fixtures/build.sh"), str(BUILD_DIR), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture
def ws(srv):
    """A raw WebSocket client on the requesting module's `srv` daemon (Tests/integration/rawws.py)."""
    from rawws import RawWS
    c = RawWS(srv.port)
    yield c
    c.close_socket()
