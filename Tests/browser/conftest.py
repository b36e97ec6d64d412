"""Browser tests of the web console (console/), in Debian's Chromium driven by its chromedriver.

The daemon is the real binary ($CAMERA_SERVICE_BIN, else .build/debug/camera-service) started
with `server.console_dir` pointing at console/ of this checkout. The Daemon class and token
helper are Tests/integration/conftest.py's, imported by path (not copied).

Chromium: /usr/bin/chromium and /usr/bin/chromedriver (override with $CHROMIUM_BIN and
$CHROMEDRIVER_BIN); without them every test is skipped with the reason printed. No browser is
ever downloaded. Each failing test saves a screenshot and the page's HTML under one temp folder
($CONSOLE_SCREENSHOT_DIR, else a new /tmp/console-browser-*), printed in the report. Browser
console errors (CSP violations, uncaught exceptions, failed loads) fail the test unless the test
allowed that message.
"""
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONSOLE_DIR = REPO / "console"

_spec = importlib.util.spec_from_file_location("integration_conftest", REPO / "Tests" / "integration" / "conftest.py")
integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(integration)
Daemon = integration.Daemon
make_token = integration.make_token
SECRET = integration.SECRET
BIN = integration.BIN

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")

# clock_skew 0: an expired token is refused at once (the expiry test waits seconds, not 30).
AUTH_PLUGIN = {"name": "jwt_auth", "library": "JWTAuth", "required": True, "config": {"secret": SECRET, "clock_skew": 0}}
TEST_PATTERN = {"name": "test_pattern_source", "library": "TestPatternSource"}
BASE_PLUGINS = [AUTH_PLUGIN, TEST_PATTERN]
# The capture engine and the storage provider, for the snapshot, recording and files tests.
CAPTURE_PLUGINS = [{"name": "ffmpeg_capture", "library": "FFmpegCapture"}, {"name": "file_store", "library": "FileStore"}]

_shots = {"dir": None}


def screenshot_dir():
    if _shots["dir"] is None:
        d = os.environ.get("CONSOLE_SCREENSHOT_DIR")
        if d:
            os.makedirs(d, exist_ok=True)
        else:
            d = tempfile.mkdtemp(prefix="console-browser-")
        _shots["dir"] = Path(d)
    return _shots["dir"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the browser --------------------------------------------------------------------------------

def _chromium_missing():
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "Python selenium is not installed (.venv/bin/pip install -r Tests/requirements.txt)"
    for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"{path} not found: install Debian's {pkg} (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="session")
def driver(request):
    missing = _chromium_missing()
    if missing:
        sys.stderr.write(f"\nTests/browser: skipping: {missing}\n")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--metrics-recording-only", "--mute-audio",
                "--autoplay-policy=no-user-gesture-required", "--lang=en-US"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    downloads = tempfile.mkdtemp(prefix="console-downloads-")
    opts.add_experimental_option("prefs", {"download.default_directory": downloads, "download.prompt_for_download": False,
                                           "safebrowsing.enabled": False})
    try:
        drv = webdriver.Chrome(service=Service(CHROMEDRIVER, log_output=str(screenshot_dir() / "chromedriver.log")), options=opts)
    except Exception as e:  # a browser that is there must start: this is a failure, not a skip
        raise RuntimeError(f"Chromium did not start: {e}") from e
    drv.downloads_dir = Path(downloads)
    drv.set_page_load_timeout(20)
    yield drv
    drv.quit()
    shutil.rmtree(downloads, ignore_errors=True)


@pytest.fixture
def browser(driver):
    """A clean tab state for one test: the Console page helper (console_page.py)."""
    from console_page import Console
    c = Console(driver)
    c.reset()
    yield c
    c.reset()


# --- the daemon ---------------------------------------------------------------------------------

@pytest.fixture
def daemon_factory(tmp_path):
    """daemon_factory(plugins=[...], config={...}, env={...}) → a started Daemon serving console/."""
    started = []

    def make(plugins=None, config=None, start=True, **kw):
        sub = tmp_path / f"d{len(started)}"
        sub.mkdir()
        cfg = {"server": {"console_dir": str(CONSOLE_DIR)}, "logging": {"level": "info"}}
        for k, v in (config or {}).items():
            if isinstance(v, dict) and isinstance(cfg.get(k), dict):
                cfg[k].update(v)
            else:
                cfg[k] = v
        d = Daemon(sub, config=cfg, plugins=plugins if plugins is not None else BASE_PLUGINS, **kw)
        started.append(d)
        return d.start() if start else d

    yield make
    for d in started:
        d.stop()


@pytest.fixture
def daemon(daemon_factory):
    """jwt_auth and two test-pattern cameras (test_cam0 1280x720@30, test_cam1 640x480@15)."""
    return daemon_factory()


def cli(d, *args):
    return subprocess.run([str(BIN), "--config", str(d.config_path), *args], capture_output=True, text=True, timeout=30)


# --- the fake V4L2 camera (hot-plug) ------------------------------------------------------------

FAKE_V4L2 = REPO / "Tests" / "FakeV4L2"


@pytest.fixture(scope="session")
def fake_v4l2_lib():
    lib = FAKE_V4L2 / "libfakev4l2.so"
    src = FAKE_V4L2 / "fake_v4l2.c"
    if not lib.exists() or lib.stat().st_mtime < src.stat().st_mtime:
        if not shutil.which("gcc"):
            pytest.skip("gcc is needed to build Tests/FakeV4L2/libfakev4l2.so")
        # The same command as Tests/FakeV4L2/Makefile.
        subprocess.run(["gcc", "-shared", "-O2", "-Wall", "-Wextra", "-fPIC", "-o", str(lib), str(src), "-ldl", "-lpthread"], check=True)
    return lib


def plug(dev, index, content):
    """Writes a fake node under a temporary name, then renames it in (what inotify watchers need)."""
    tmp = dev / f".tmp-video{index}"
    tmp.write_text(content)
    os.rename(tmp, dev / f"video{index}")


# --- MediaMTX stand-in --------------------------------------------------------------------------

@pytest.fixture
def mediamtx(tmp_path):
    sys.path.insert(0, str(REPO / "Tests" / "mediamtx"))
    try:
        from mtx_server import MediaMTX, python_for_standin_ok
    finally:
        sys.path.pop(0)
    ok, why = python_for_standin_ok()
    if not ok:
        sys.stderr.write(f"\nTests/browser: skipping the MediaMTX test: {why}\n")
        pytest.skip(why)
    m = MediaMTX(tmp_path / "mediamtx").start()
    yield m
    m.stop()


# --- reporting: console errors fail the test, failures leave a screenshot ------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    console = item.funcargs.get("browser")
    if console is not None:
        console.assert_no_console_errors()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    if rep.failed:
        console = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
        if console is not None:
            base = screenshot_dir() / f"{item.name}-{rep.when}"
            try:
                console.driver.save_screenshot(str(base) + ".png")
                (Path(str(base) + ".html")).write_text(console.driver.page_source)
                text = f"screenshot: {base}.png (page HTML: {base}.html)"
            except Exception as e:  # the browser itself may be what failed
                text = f"no screenshot ({e})"
            rep.sections.append(("browser", text))
            sys.stderr.write(f"\n{item.nodeid}: {text}\n")
    return rep


def pytest_terminal_summary(terminalreporter):
    d = _shots["dir"]
    if d is None or not d.exists():
        return
    if any(p.suffix == ".png" for p in d.iterdir()):
        terminalreporter.write_line(f"Tests/browser: failure screenshots in {d}")
    elif not os.environ.get("CONSOLE_SCREENSHOT_DIR"):
        shutil.rmtree(d, ignore_errors=True)  # nothing failed: no folder left behind
