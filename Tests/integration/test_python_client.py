"""Examples/python-client against `camera-service --demo`, as a user would run it."""
import json
import subprocess
import sys

from conftest import REPO, free_port
from demo import Demo


def test_example_client_snapshot_and_recording_downloaded(tmp_path):
    port = free_port()
    (tmp_path / "plugins.yaml").write_text((REPO / "plugins.yaml").read_text())  # the default plugins
    (tmp_path / "config.yaml").write_text(json.dumps({"server": {"host": "127.0.0.1", "port": port},
                                                      "plugins": {"dirs": [str(REPO / ".build" / "debug")]}}))
    demo = Demo(tmp_path / "config.yaml", port)
    try:
        out = tmp_path / "downloads"
        r = subprocess.run([sys.executable, str(REPO / "Examples/python-client/camera_client.py"), "--url", demo.url,
                            "--token", demo.tokens["operator"], "--out", str(out)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "authenticated as demo-operator, operator" in r.stdout
        files = sorted(out.iterdir())
        jpgs = [f for f in files if f.suffix == ".jpg"]
        videos = [f for f in files if f.suffix in (".mp4", ".mkv")]
        assert len(jpgs) == 1 and jpgs[0].read_bytes()[:2] == b"\xff\xd8", files
        assert videos, files
        seconds = 0.0
        for v in videos:
            probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(v)],
                                   capture_output=True, text=True, timeout=30)
            assert probe.returncode == 0, probe.stderr
            seconds += float(json.loads(probe.stdout)["format"]["duration"])
        assert 2.5 < seconds < 4, seconds
    finally:
        rc, log = demo.stop()
    assert rc == 0, log
