"""`camera-service --demo` for tests: started with stdout and stderr in one pipe, its banner
parsed into the console URL and a token per role."""
import os
import signal
import subprocess
import threading

from conftest import BIN


def env_without_secret():
    env = dict(os.environ)
    env.pop("CAMERA_SERVICE_JWT_SECRET", None)
    return env


class Demo:
    """`camera-service --demo`; after the banner, a thread drains the pipe (a full pipe would
    block the daemon's logging)."""

    def __init__(self, cfg, port, env=None):
        self.port = port
        self.proc = subprocess.Popen([str(BIN), "--demo", "--config", str(cfg)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env={**env_without_secret(), **(env or {})})
        self.lines = []
        while len(self.lines) < 20:
            line = self.proc.stdout.readline().decode()
            assert line, f"demo exited early: {self.lines}"
            self.lines.append(line.rstrip("\n"))
            if line.lstrip().startswith('{"jsonrpc"') and "get_camera_list" in line:
                break
        self.tokens = {}
        for line in self.lines:
            parts = line.split()
            if len(parts) == 2 and parts[0] in ("viewer", "operator", "admin"):
                self.tokens[parts[0]] = parts[1]
        self.rest = []
        self.drain = threading.Thread(target=lambda: self.rest.extend(self.proc.stdout), daemon=True)
        self.drain.start()

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=15)
        self.drain.join(timeout=5)
        return self.proc.returncode, b"".join(self.rest).decode(errors="replace")
