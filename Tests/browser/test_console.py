"""The web console in Chromium against the running daemon: serving, sign-in, roles, cameras
live from events, hot-plug, expiry, errors as sentences, live-view fallback, system page, phone
width and keyboard use. What needs snapshots, recordings or files is in test_console_media.py."""
import os
import re
import time
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from conftest import AUTH_PLUGIN, BASE_PLUGINS, CONSOLE_DIR, TEST_PATTERN, cli, free_port, make_token, plug
from console_page import assert_sentence
from rpc_client import Rpc

TYPES = {"html": "text/html", "js": "text/javascript", "css": "text/css", "svg": "image/svg+xml", "png": "image/png",
         "ico": "image/x-icon", "json": "application/json", "webmanifest": "application/manifest+json"}


def http_get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


# --- serving ------------------------------------------------------------------------------------

def test_console_files_are_served_with_types_cache_headers_and_csp(daemon):
    status, headers, body = http_get(daemon.http + "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    csp = headers["content-security-policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
        assert directive in csp
    assert body == (CONSOLE_DIR / "index.html").read_bytes()
    files = sorted(p for p in CONSOLE_DIR.iterdir() if p.is_file())
    assert {"index.html", "app.js", "app.css", "rpc.js", "auth.js"} <= {p.name for p in files}
    for p in files:
        assert re.fullmatch(r"[A-Za-z0-9._-]+", p.name), f"{p.name}: not servable under /ui/"
        ext = p.suffix[1:]
        assert ext in TYPES, f"{p.name}: the daemon serves no {ext} files"
        status, headers, body = http_get(f"{daemon.http}/ui/{p.name}")
        assert status == 200, p.name
        assert headers["content-type"].startswith(TYPES[ext]), (p.name, headers["content-type"])
        assert headers.get("cache-control") and headers.get("etag"), p.name
        assert body == p.read_bytes()
        status, _, _ = http_get(f"{daemon.http}/ui/{p.name}", {"If-None-Match": headers["etag"]})
        assert status == 304


def test_console_sources_obey_the_csp_and_use_no_cdn():
    html = (CONSOLE_DIR / "index.html").read_text()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S | re.I)
    assert scripts and all('src="/ui/' in attrs and not body.strip() for attrs, body in scripts), "inline script"
    assert not re.search(r"<style\b", html, re.I) and not re.search(r"\sstyle\s*=", html, re.I), "inline style"
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), "inline event handler"
    for p in CONSOLE_DIR.iterdir():
        text = p.read_text(errors="replace")
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text), f"{p.name}: external resource"
        assert not re.search(r"@import\s+url\(\s*[\"']?https?:", text), f"{p.name}: external stylesheet"
        if p.suffix == ".js":
            assert not re.search(r"\beval\s*\(|new\s+Function\s*\(|\.innerHTML\s*=|setAttribute\(\s*[\"']style", text), f"{p.name}: eval, innerHTML or style attribute"
            assert not re.search(r"localStorage", text), f"{p.name}: the token belongs in sessionStorage only"


# --- sign-in and roles -----------------------------------------------------------------------------

def test_sign_in_shows_the_cameras_and_keeps_the_token_out_of_the_url(browser, daemon):
    browser.open(daemon)
    field = browser.wait_visible("#token")
    assert field.get_attribute("type") == "password"
    assert browser.active_element() == "token"
    token = make_token("admin")
    browser.sign_in(token)

    cam0 = browser.wait_card("test_cam0", "CONNECTED")
    cam1 = browser.wait_card("test_cam1", "CONNECTED")
    assert "Test pattern cam0" in cam0.text and "1280x720" in cam0.text and "30 fps" in cam0.text and "Connected" in cam0.text
    assert "Test pattern cam1" in cam1.text and "640x480" in cam1.text and "15 fps" in cam1.text
    assert browser.text("#camera-summary") == "2 of 2 connected"
    assert "admin" in browser.text("#who-text") and "JWT" in browser.text("#who-text")
    assert token not in browser.driver.current_url
    assert browser.session_token() == token
    assert browser.js("return localStorage.length") == 0
    assert browser.is_visible('#nav a[data-view="system"]')

    browser.reload()  # the session survives a reload of the tab
    browser.wait_card("test_cam0", "CONNECTED")
    assert not browser.is_visible("#view-signin")

    browser.find("#sign-out").click()
    browser.wait_visible("#view-signin")
    assert browser.wait_text("#signin-reason", "You signed out.")
    assert browser.session_token() is None
    assert not browser.exists("article.card")


def test_console_finds_a_configured_websocket_path_and_names_the_user(browser, daemon_factory):
    d = daemon_factory(config={"server": {"console_dir": str(CONSOLE_DIR), "websocket_path": "/api/rpc"}})
    status, headers, body = http_get(d.http + "/ui/config.json")
    assert status == 200 and headers["content-type"].startswith("application/json") and b'"/api/rpc"' in body
    browser.open(d)
    browser.sign_in(make_token("operator", user="grace"))
    browser.wait_card("test_cam0", "CONNECTED")
    assert "grace" in browser.text("#who-text") and "operator" in browser.text("#who-text")


def test_a_bad_token_is_refused_with_a_sentence(browser, daemon):
    browser.open(daemon)
    browser.sign_in("not-a-token", expect_ok=False)
    text = assert_sentence(browser.wait_text("#signin-reason", "not accepted"))
    assert browser.is_visible("#view-signin") and browser.session_token() is None
    browser.sign_in(make_token("admin", secret="another-secret-0123456789abcdef0123456789"), expect_ok=False)
    assert_sentence(browser.wait_text("#signin-reason", "not accepted"))
    assert "{" not in text


def test_sign_in_with_an_api_key(browser, daemon_factory):
    d = daemon_factory(start=False)
    add = cli(d, "keys", "add", "--role", "operator", "--description", "browser test")
    assert add.returncode == 0, add.stderr
    key = add.stdout.strip()
    assert key.startswith("csk_")
    d.start()
    browser.open(d)
    browser.sign_in(key)
    browser.wait_card("test_cam0")
    assert "operator (API key" in browser.text("#who-text")
    assert browser.card_button("test_cam0", "snapshot").is_displayed()
    assert not browser.is_visible('#nav a[data-view="system"]')
    assert key not in browser.driver.current_url and browser.session_token() == key


def test_a_viewer_sees_no_control_buttons(browser, daemon):
    browser.sign_in_as(daemon, "viewer")
    card = browser.wait_card("test_cam0")
    browser.wait_card("test_cam1")
    assert "viewer" in browser.text("#who-text")
    for device in ("test_cam0", "test_cam1"):
        actions = [b.get_attribute("data-action") for b in browser.find_all(f'article.card[data-device="{device}"] .actions button')]
        assert actions == ["live", "capabilities"], actions
    assert not browser.find_all("select.duration") and "Record for" not in card.text
    assert not browser.is_visible("#capture-note")
    assert not browser.is_visible('#nav a[data-view="system"]')
    # the system page is not for viewers, even by its address
    browser.go("cameras")
    browser.driver.get(browser.daemon.http + "/#/system")
    assert_sentence(browser.wait_text("#cameras-msg", "needs the admin role"))
    assert not browser.is_visible("#view-system")
    browser.go("files")
    browser.wait_visible("#files-msg")
    assert not browser.find_all('button[data-action="delete"]')
    buttons = set(browser.visible_buttons())
    assert not buttons & {"Delete", "Take snapshot", "Record", "Stop recording", "Take a new snapshot", "Clean up now", "Save policy"}, buttons


def test_an_operator_has_the_controls_but_no_system_page(browser, daemon):
    browser.sign_in_as(daemon, "operator")
    browser.wait_card("test_cam0")
    snap = browser.card_button("test_cam0", "snapshot")
    rec = browser.card_button("test_cam0", "record")
    assert snap.is_displayed() and rec.is_displayed()
    # no capture engine in this daemon: the controls are there, disabled, and the page says why
    assert not snap.is_enabled() and not rec.is_enabled()
    assert_sentence(browser.wait_text("#capture-note", "no capture engine"))
    assert not browser.is_visible('#nav a[data-view="system"]')


def test_an_expired_token_returns_to_sign_in_with_the_reason(browser, daemon):
    browser.sign_in_as(daemon, "admin", ttl=8)
    browser.wait_card("test_cam0")
    reason = browser.wait_text("#signin-reason", "expired", timeout=25)
    assert_sentence(reason)
    assert browser.is_visible("#view-signin") and not browser.is_visible("#view-cameras")
    assert browser.session_token() is None
    # a token that is already expired is refused with the same reason
    browser.sign_in(make_token("admin", ttl=-60), expect_ok=False)
    assert_sentence(browser.wait_text("#signin-reason", "expired"))


# --- cameras ---------------------------------------------------------------------------------------

def test_capabilities_on_demand(browser, daemon):
    browser.sign_in_as(daemon, "viewer")
    browser.wait_card("test_cam1")
    button = browser.card_button("test_cam1", "capabilities")
    assert button.get_attribute("aria-expanded") == "false"
    button.click()
    panel = browser.wait_visible('article.card[data-device="test_cam1"] .caps-panel')
    browser.wait_text('article.card[data-device="test_cam1"] .caps-panel', "confirmed by the camera")
    assert "640x480" in panel.text and "15 fps" in panel.text and "YUV420P" in panel.text
    assert button.get_attribute("aria-expanded") == "true"
    button.click()
    browser.wait_gone('article.card[data-device="test_cam1"] .caps-panel')


UVC = "card=HD USB Camera\nbus_info=usb-0000:00:14.0-1\nformats=YUYV:640x480@30,15|MJPG:1280x720@30\n"


def test_a_camera_goes_away_and_comes_back_without_reloading(browser, daemon_factory, fake_v4l2_lib, tmp_path):
    dev = tmp_path / "dev"
    dev.mkdir()
    (dev / "video0").write_text(UVC)
    v4l2 = {"name": "v4l2_source", "library": "V4L2Source",
            "config": {"devices_dir": str(dev), "discovery": "inotify", "probe_timeout": 0.5}}
    d = daemon_factory(plugins=[AUTH_PLUGIN, v4l2], env={"LD_PRELOAD": str(fake_v4l2_lib), "FAKE_V4L2_DIR": str(dev)})
    browser.sign_in_as(d, "viewer")
    cam0 = browser.wait_card("camera0", "CONNECTED")
    assert "HD USB Camera" in cam0.text and "640x480" in cam0.text
    browser.js("window.__samePage = 42")

    plug(dev, 3, "card=Second Cam\nformats=MJPG:1280x720@30,15\n")
    card = browser.wait_card("camera3", "CONNECTED")
    assert "Second Cam" in card.text and "Connected" in card.text
    browser.wait_text("#camera-summary", "2 of 2 connected")
    # cards keep the daemon's order
    assert [c.get_attribute("data-device") for c in browser.find_all("article.card")] == ["camera0", "camera3"]

    os.remove(dev / "video3")
    card = browser.wait_card("camera3", "DISCONNECTED")
    assert "Disconnected" in card.text
    browser.wait_text("#camera-summary", "1 of 2 connected")

    plug(dev, 3, "card=Second Cam\nformats=MJPG:1280x720@30,15\n")
    browser.wait_card("camera3", "CONNECTED")
    browser.wait_text("#camera-summary", "2 of 2 connected")
    # a camera that fails its probe shows as an error, and its live view says so
    plug(dev, 5, "card=Broken\nfail=EIO\n")
    card = browser.wait_card("camera5", "ERROR")
    assert "Error" in card.text
    browser.wait_text("#camera-summary", "2 of 3 connected")
    browser.card_button("camera5", "live").click()
    assert_sentence(browser.wait_text('article.card[data-device="camera5"] .live-status', "the camera reports an error"))
    assert browser.js("return window.__samePage") == 42, "the page was reloaded"


def test_the_console_reconnects_after_a_daemon_restart(browser, daemon):
    browser.sign_in_as(daemon, "operator")
    browser.wait_card("test_cam0")
    browser.js("window.__samePage = 7")
    daemon.stop()
    assert_sentence(browser.wait_text("#connection", "connection to the daemon was lost"))
    browser.allow_console_error(r"WebSocket connection to .* failed")
    daemon.start()
    browser.wait_text("#connection", "Reconnected.", timeout=20)
    browser.wait_card("test_cam0", "CONNECTED")
    assert browser.js("return window.__samePage") == 7
    # the new connection is authenticated again: a viewer-level call works from the page
    browser.card_button("test_cam1", "capabilities").click()
    browser.wait_text('article.card[data-device="test_cam1"] .caps-panel', "640x480")


# --- live view --------------------------------------------------------------------------------------

def test_live_view_without_a_media_backend_says_why(browser, daemon):
    browser.sign_in_as(daemon, "operator")
    browser.wait_card("test_cam0")
    button = browser.card_button("test_cam0", "live")
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    status = browser.wait_text('article.card[data-device="test_cam0"] .live-status', "No live video")
    assert "no media backend" in status and "latest snapshot" in status
    assert_sentence(status)
    note = browser.wait_text('article.card[data-device="test_cam0"] .live-panel .card-msg', "No snapshot can be shown")
    assert_sentence(note)
    assert not browser.find('article.card[data-device="test_cam0"] video').is_displayed()
    assert not browser.find('article.card[data-device="test_cam0"] .live-player-link').is_displayed()  # no media server


def test_live_view_with_the_mediamtx_stand_in_falls_back_to_snapshots(browser, daemon_factory, mediamtx):
    webrtc_port, hls_port = free_port(), free_port()  # nothing listens there: the stand-in speaks RTSP only
    backend = {"name": "mediamtx_backend", "library": "MediaMTXBackend",
               "config": {"api_url": f"http://127.0.0.1:{mediamtx.api_port}", "rtsp_port": mediamtx.rtsp_port,
                          "webrtc_port": webrtc_port, "hls_port": hls_port}}
    d = daemon_factory(plugins=BASE_PLUGINS + [backend])
    with Rpc(d, make_token("viewer")) as rpc:
        assert "streaming" in rpc.call("get_server_info")["capabilities"]
    browser.allow_console_error(rf"127\.0\.0\.1:({webrtc_port}/test_cam0/whep|{hls_port}/test_cam0/index\.m3u8)")
    browser.sign_in_as(d, "viewer")
    browser.wait_card("test_cam0", "CONNECTED")
    browser.card_button("test_cam0", "live").click()
    status = browser.wait_text('article.card[data-device="test_cam0"] .live-status', "No live video", timeout=20)
    assert "WebRTC" in status and f"127.0.0.1:{webrtc_port}/test_cam0/whep" in status
    # HLS next: Chromium builds without native HLS say so; those with it try the (absent) stream
    assert "cannot play HLS" in status or "HLS stream did not play" in status
    assert_sentence(status)
    assert browser.find('article.card[data-device="test_cam0"] .live-panel').get_attribute("data-mode") == "snapshot"
    # The media server's own HLS page (its bundled player), in a new tab.
    link = browser.find('article.card[data-device="test_cam0"] .live-player-link')
    assert link.is_displayed() and link.get_attribute("href") == f"http://127.0.0.1:{hls_port}/test_cam0/"
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")


# --- errors and the system page ----------------------------------------------------------------------

def test_errors_are_shown_as_sentences(browser, daemon):
    browser.sign_in_as(daemon, "admin")
    browser.wait_card("test_cam0")
    browser.find('#nav a[data-view="files"]').click()
    text = assert_sentence(browser.wait_text("#files-msg", "Listing the recordings failed"))
    assert "no file storage" in text
    browser.find('button[data-kind="snapshots"]').click()
    assert_sentence(browser.wait_text("#files-msg", "Listing the snapshots failed"))
    browser.find('#nav a[data-view="system"]').click()
    assert_sentence(browser.wait_text("#storage-body", "Reading the storage figures failed"))
    assert_sentence(browser.text("#retention-hint"))
    assert not browser.find("#retention-save").is_enabled()


def test_the_system_page_shows_health_metrics_and_plugins(browser, daemon):
    browser.sign_in_as(daemon, "admin")
    browser.wait_card("test_cam0")
    browser.find('#nav a[data-view="system"]').click()
    browser.wait_visible("#view-system")
    assert browser.find('#nav a[data-view="system"]').get_attribute("aria-current") == "page"
    browser.wait_text("#health-overall", "HEALTHY")
    for component in ("websocket_server", "camera_monitor", "jwt_auth", "test_pattern_source"):
        row = browser.find(f'#health-body tr[data-component="{component}"]')
        assert "healthy" in row.text, row.text
    requests = int(browser.wait_text("#metric-requests", "Requests").split()[-1])
    assert requests > 0
    assert "peak" in browser.text("#metric-connections") and "2 of 2" in browser.text("#metric-cameras")
    browser.wait_text(".latency-table", "get_camera_list")
    assert "p99" in browser.text(".latency-table")
    for plugin in ("jwt_auth", "test_pattern_source"):
        row = browser.find(f'#plugins-body tr[data-plugin="{plugin}"]')
        assert "active" in row.text and re.search(r"\d+\.\d+\.\d+", row.text), row.text
    assert "cameras" in browser.text("#server-capabilities")
    browser.find("#system-refresh").click()
    browser.wait(lambda: int(browser.text("#metric-requests").split()[-1]) > requests, "metrics did not refresh")


# --- layout and keyboard --------------------------------------------------------------------------------

def test_phone_width_layout(browser, daemon):
    browser.phone(375, 780)
    browser.open(daemon)
    assert browser.js("return window.innerWidth") <= 400
    assert browser.no_horizontal_overflow(375)
    browser.sign_in(make_token("admin"))
    a = browser.wait_card("test_cam0")
    b = browser.wait_card("test_cam1")
    ra, rb = a.rect, b.rect
    assert abs(ra["x"] - rb["x"]) < 2 and rb["y"] > ra["y"] + ra["height"] - 1, "cards are not stacked"
    assert ra["width"] <= 375
    assert browser.no_horizontal_overflow(375)
    for b in browser.find_all('article.card[data-device="test_cam0"] .actions button'):
        assert b.rect["height"] >= 34, "touch targets too small"
    browser.card_button("test_cam0", "live").click()
    browser.wait_text('article.card[data-device="test_cam0"] .live-status', "No live video")
    assert browser.no_horizontal_overflow(375)
    for view in ("files", "system"):
        browser.find(f'#nav a[data-view="{view}"]').click()
        browser.wait_visible(f"#view-{view}")
        time.sleep(0.5)
        assert browser.no_horizontal_overflow(375), f"{view} is wider than the phone"
    browser.wait_visible("#health-body table")
    assert browser.no_horizontal_overflow(375)


def test_everything_is_reachable_by_keyboard(browser, daemon):
    browser.open(daemon)
    assert browser.active_element() == "token"
    ActionChains(browser.driver).send_keys(make_token("operator")).send_keys(Keys.ENTER).perform()
    browser.wait_card("test_cam1")
    browser.wait(lambda: browser.active_element() == "cameras-title", "focus did not move to the page heading")

    # every visible, enabled control is reached by Tab, in order, from the skip link
    count = browser.js("""
        const els = Array.from(document.querySelectorAll('a[href], button, input, select, textarea'))
          .filter(e => !e.disabled && e.offsetParent !== null);
        els.forEach((e, i) => e.dataset.kbd = String(i));
        document.querySelector('.skip-link').focus();
        return els.length;""")
    assert count >= 8
    seen = []
    for _ in range(count + 3):
        browser.tab()
        seen.append(browser.js("return document.activeElement && document.activeElement.dataset.kbd || null"))
    reached = {int(s) for s in seen if s is not None}
    assert reached >= set(range(1, count)), f"not reached by Tab: {sorted(set(range(1, count)) - reached)}"

    # a focused control shows a visible focus indicator
    browser.js("document.querySelector('.skip-link').focus()")
    browser.tab()
    style = browser.js("const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]")
    assert style[0] != "none" and style[1] != "0px", style

    # keyboard activation: open the capabilities of test_cam1 with Enter, then the Files page
    browser.js("document.querySelector('article.card[data-device=\"test_cam1\"] button[data-action=\"capabilities\"]').focus()")
    ActionChains(browser.driver).send_keys(Keys.ENTER).perform()
    browser.wait_text('article.card[data-device="test_cam1"] .caps-panel', "640x480")
    browser.js("document.querySelector('#nav a[data-view=\"files\"]').focus()")
    ActionChains(browser.driver).send_keys(Keys.ENTER).perform()
    browser.wait_visible("#view-files")
    browser.wait(lambda: browser.active_element() == "files-title", "focus did not move to the Files heading")
