"""Start, talk to and stop a MediaMTX for tests: the stand-in (default) or the real binary.

    srv = MediaMTX(tmp_path, all_others=False, api_user=None, api_pass=None)
    srv.start()
    status, headers, body = srv.request("POST", "/v3/config/paths/add/cam1", b"{}")
    srv.publish_url("cam1")   # rtsp://127.0.0.1:<publish port>/cam1 (stand-in: the publish server)
    srv.read_url("cam1")      # rtsp://127.0.0.1:<rtsp port>/cam1
    srv.stop()

With $MEDIAMTX_BIN set, the real MediaMTX is started with a generated mediamtx.yml equivalent to
the stand-in's command line: API on 127.0.0.1, RTSP on 127.0.0.1 (publish and read on one port),
RTMP/HLS/WebRTC/SRT/MoQ off (the stand-in has none of them), no paths or all_others, and for
--api-user/--api-pass an authInternalUsers list where only that user has the "api" action.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "standin.py")
SYSTEM_PYTHON = "/usr/bin/python3"


def real_binary():
    return os.environ.get("MEDIAMTX_BIN") or None


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class MediaMTX:
    def __init__(self, tmp, all_others=False, api_user=None, api_pass=None, no_relay=False, env=None,
                 auth_fail_delay=None):
        self.tmp = str(tmp)
        os.makedirs(self.tmp, exist_ok=True)
        self.binary = real_binary()
        self.all_others, self.api_user, self.api_pass = all_others, api_user, api_pass
        self.no_relay = no_relay
        self.auth_fail_delay = auth_fail_delay
        self.env = dict(os.environ, **(env or {}))
        self.api_port, self.rtsp_port, self.publish_port, self.rtp_port, self.rtcp_port = free_ports(5)
        if self.binary:
            self.publish_port = self.rtsp_port
        self.log_path = os.path.join(self.tmp, "mediamtx.log")
        self.proc = None
        self.log_file = None

    @property
    def is_standin(self):
        return self.binary is None

    # --- process ------------------------------------------------------------------------------

    def _config_yaml(self):
        lines = ["logLevel: debug", "api: yes", "apiAddress: 127.0.0.1:%d" % self.api_port,
                 "rtspAddress: 127.0.0.1:%d" % self.rtsp_port, "rtpAddress: 127.0.0.1:%d" % self.rtp_port,
                 "rtcpAddress: 127.0.0.1:%d" % self.rtcp_port, "rtspTransports: [udp, tcp]",
                 "rtmp: no", "hls: no", "webrtc: no", "srt: no", "moq: no"]
        if self.api_user is not None:
            lines += ["authInternalUsers:",
                      "- user: any", "  permissions:", "  - action: publish", "  - action: read",
                      "  - action: playback",
                      "- user: %s" % json.dumps(self.api_user), "  pass: %s" % json.dumps(self.api_pass),
                      "  permissions:", "  - action: api"]
        lines += ["paths:", "  all_others:"] if self.all_others else ["paths: {}"]
        return "\n".join(lines) + "\n"

    def start(self, timeout=15):
        self.log_file = open(self.log_path, "ab")
        if self.binary:
            conf_path = os.path.join(self.tmp, "mediamtx.yml")
            with open(conf_path, "w") as f:
                f.write(self._config_yaml())
            self.proc = subprocess.Popen([self.binary, conf_path], cwd=self.tmp, env=self.env,
                                         stdout=self.log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            deadline = time.time() + timeout
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("mediamtx exited with %s, see %s" % (self.proc.returncode, self.log_path))
                try:
                    self.request("GET", "/v3/info", timeout=1, auth=(self.api_user, self.api_pass)
                                 if self.api_user else None)
                    return self
                except OSError:
                    time.sleep(0.05)
            raise RuntimeError("mediamtx did not answer on %d" % self.api_port)
        argv = [SYSTEM_PYTHON, STANDIN, "--api-port", str(self.api_port), "--rtsp-port", str(self.rtsp_port),
                "--publish-port", str(self.publish_port), "--log", self.log_path]
        if self.all_others:
            argv.append("--all-others")
        if self.api_user is not None:
            argv += ["--api-user", self.api_user, "--api-pass", self.api_pass]
        if self.no_relay:
            argv.append("--no-relay")
        if self.auth_fail_delay is not None:
            argv += ["--auth-fail-delay", str(self.auth_fail_delay)]
        self.proc = subprocess.Popen(argv, cwd=self.tmp, env=self.env, stdout=subprocess.PIPE,
                                     stderr=self.log_file, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        os.set_blocking(self.proc.stdout.fileno(), False)
        buf = b""
        while time.time() < deadline:
            chunk = self.proc.stdout.read()
            if chunk:
                buf += chunk
                if b"ready\n" in buf:
                    return self
            if self.proc.poll() is not None:
                raise RuntimeError("stand-in exited with %s, see %s" % (self.proc.returncode, self.log_path))
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("stand-in did not print ready, see %s" % self.log_path)

    def stop(self, timeout=15):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None
        if self.log_file:
            self.log_file.close()
            self.log_file = None
        return code

    def restart(self):
        """A MediaMTX restart without config changes: new `started`, API-made config gone."""
        if self.is_standin:
            status, _, body = self.request("POST", "/_stub/restart")
            assert status == 200, body
        else:
            self.stop()
            self.start()

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    # --- URLs and requests ----------------------------------------------------------------------

    def publish_url(self, name):
        return "rtsp://127.0.0.1:%d/%s" % (self.publish_port, name)

    def read_url(self, name):
        return "rtsp://127.0.0.1:%d/%s" % (self.rtsp_port, name)

    def connection(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=10, auth=None, conn=None):
        """(status, headers dict with lower-case names, body bytes)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        hdrs = dict(headers or {})
        if auth is not None:
            import base64
            hdrs["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode()
        own = conn is None
        conn = conn or self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            if own:
                conn.close()


def have(tool):
    return shutil.which(tool) is not None


def python_for_standin_ok():
    """Whether /usr/bin/python3 can run the stand-in with its RTSP servers."""
    if not os.path.exists(SYSTEM_PYTHON):
        return False, "%s not found" % SYSTEM_PYTHON
    probe = ("import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); "
             "from gi.repository import Gst, GstRtspServer; Gst.init(None); "
             "import sys; sys.exit(0 if all(Gst.ElementFactory.find(e) for e in "
             "('rtph264depay', 'h264parse', 'rtph264pay', 'appsrc', 'appsink')) else 3)")
    r = subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True)
    if r.returncode != 0:
        return False, ("GStreamer RTSP server not usable from %s (need python3-gi, gir1.2-gst-rtsp-server-1.0, "
                       "gstreamer1.0-plugins-{base,good,bad}): %s" % (SYSTEM_PYTHON, r.stderr.decode()[-300:]))
    return True, ""


if __name__ == "__main__":
    sys.exit("import this module from tests")
