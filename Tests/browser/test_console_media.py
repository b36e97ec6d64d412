"""The console's snapshot, recording, files and storage features in Chromium, against the
ffmpeg_capture and file_store plugins. A daemon whose get_server_info.capabilities lacks
`snapshots` / `recordings` / `file_management` fails the test: a plugin that stopped loading
must not pass as a skip."""
import re
import time

import pytest
from selenium.webdriver.support.ui import Select

from conftest import BASE_PLUGINS, CAPTURE_PLUGINS, make_token
from console_page import assert_sentence
from rpc_client import Rpc


@pytest.fixture
def media_daemon(daemon_factory):
    d = daemon_factory(plugins=BASE_PLUGINS + CAPTURE_PLUGINS)
    with Rpc(d, make_token("admin")) as rpc:
        d.capabilities = set(rpc.call("get_server_info")["capabilities"])
    return d


def need(d, *caps):
    missing = [c for c in caps if c not in d.capabilities]
    assert not missing, (f"get_server_info.capabilities lacks {', '.join(missing)} "
                         f"(has {', '.join(sorted(d.capabilities))}): ffmpeg_capture / file_store did not load")


def card_css(device, inner=""):
    return f'article.card[data-device="{device}"] {inner}'.strip()


def image_loaded(browser, css):
    return browser.js("const i = document.querySelector(arguments[0]);"
                      "return !!i && i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:') ? i.naturalWidth : 0", css)


def wait_download(browser, filename, size=None, timeout=20):
    path = browser.driver.downloads_dir / filename
    def done():
        return path.exists() and not (browser.driver.downloads_dir / (filename + ".crdownload")).exists() \
            and (size is None or path.stat().st_size == size)
    browser.wait(done, f"{filename} was not downloaded" + (f" with {size} bytes" if size is not None else ""), timeout)
    return path


def allow_downloads(browser):
    browser.driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                                   {"behavior": "allow", "downloadPath": str(browser.driver.downloads_dir)})


# --- snapshots ------------------------------------------------------------------------------------

def test_a_snapshot_is_shown_at_once_with_tier_and_frame_age(browser, media_daemon):
    need(media_daemon, "snapshots", "file_management")
    browser.sign_in_as(media_daemon, "operator")
    browser.wait_card("test_cam0", "CONNECTED")
    assert not browser.is_visible("#capture-note")
    button = browser.card_button("test_cam0", "snapshot")
    assert button.is_enabled()
    button.click()
    browser.wait_visible(card_css("test_cam0", "figure.shot"))
    width = browser.wait(lambda: image_loaded(browser, card_css("test_cam0", "figure.shot img")), "the snapshot image was not shown", 30)
    assert width == 1280  # test_cam0 is 1280x720
    caption = browser.text(card_css("test_cam0", "figure.shot figcaption"))
    assert re.search(r"Tier [123] \(", caption), caption
    assert re.search(r"frame age \d+ ms", caption), caption
    msg = browser.wait_text(card_css("test_cam0", ".card-msg"), "Snapshot ")
    filename = re.search(r"Snapshot (\S+) taken\.", msg).group(1)
    assert filename in caption and filename.startswith("test_cam0_")
    with Rpc(media_daemon, make_token("viewer")) as rpc:
        assert rpc.call("get_snapshot_info", {"filename": filename})["device"] == "test_cam0"


def test_the_live_fallback_shows_a_fresh_snapshot_on_request(browser, media_daemon):
    need(media_daemon, "snapshots", "file_management")
    browser.sign_in_as(media_daemon, "operator")
    browser.wait_card("test_cam1", "CONNECTED")
    browser.card_button("test_cam1", "live").click()
    status = browser.wait_text(card_css("test_cam1", ".live-status"), "No live video")
    assert "no media backend" in status
    img = card_css("test_cam1", ".live-panel img")
    assert browser.wait(lambda: image_loaded(browser, img), "no snapshot in the live view", 30) == 640
    first = browser.js("return document.querySelector(arguments[0]).src", img)
    browser.find(card_css("test_cam1", 'button[data-action="refresh-snapshot"]')).click()
    browser.wait(lambda: browser.js("return document.querySelector(arguments[0]).src", img) != first and image_loaded(browser, img),
                 "the snapshot was not refreshed", 30)


# --- recordings -----------------------------------------------------------------------------------

def test_record_three_seconds_then_find_download_preview_and_delete_it(browser, media_daemon):
    need(media_daemon, "recordings", "file_management")
    allow_downloads(browser)
    browser.sign_in_as(media_daemon, "operator")
    browser.wait_card("test_cam0", "CONNECTED")
    Select(browser.find(card_css("test_cam0", "select.duration"))).select_by_value("3")
    record = browser.card_button("test_cam0", "record")
    record.click()
    browser.wait_visible(card_css("test_cam0", ".rec-indicator"), timeout=20)
    browser.wait_text(card_css("test_cam0", ".rec-time"), "/ 00:03")
    assert record.text == "Stop recording" and record.get_attribute("aria-pressed") == "true"
    # The timer runs (a second or more shown; a slow page may not be looked at within 00:01).
    browser.wait(lambda: re.search(r"00:0[1-3] / 00:03", browser.text(card_css("test_cam0", ".rec-time"))), timeout=10)
    msg = browser.wait_text(card_css("test_cam0", ".card-msg"), "Recording saved:", timeout=40)
    assert_sentence(msg)
    browser.wait_gone(card_css("test_cam0", ".rec-indicator"))
    assert record.text == "Record"
    started = re.search(r"Recording saved: (\S+?)(?: \(|\.)", msg).group(1)
    stem = started.rsplit(".", 1)[0]

    with Rpc(media_daemon, make_token("viewer")) as rpc:
        files = [f for f in rpc.call("list_recordings", {"device": "test_cam0", "limit": 100})["files"]
                 if f["filename"] == started or f["filename"].startswith(stem)]
    assert files, f"{started} is not listed"
    entry = files[0]
    assert entry["duration"] is None or 2 <= entry["duration"] <= 6

    browser.find('#nav a[data-view="files"]').click()
    row_css = f'#files-body tr[data-filename="{entry["filename"]}"]'
    row = browser.wait_visible(row_css, timeout=15)
    assert "test_cam0" in row.text and re.search(r"\d+(\.\d)? (B|KB|MB)", row.text)
    if entry["duration"] is not None:
        assert re.search(r"\d\.\d s", row.text), row.text

    browser.find(row_css + ' button[data-action="download"]').click()
    path = wait_download(browser, entry["filename"], entry["file_size"])
    assert path.stat().st_size > 0
    assert_sentence(browser.wait_text("#files-msg", "Downloaded"))

    browser.find(row_css + ' button[data-action="preview"]').click()
    browser.wait_visible("#files-preview")
    browser.wait(lambda: browser.js("const v = document.querySelector('#files-preview video'); return !!v && v.src.startsWith('blob:')"),
                 "no preview video")
    browser.find("#files-preview-close").click()

    browser.find(row_css + ' button[data-action="delete"]').click()
    browser.wait_text(row_css, f"Delete {entry['filename']}?")
    browser.find(row_css + ' button[data-action="confirm-delete"]').click()
    browser.wait(lambda: not browser.exists(row_css), "the row is still there")
    assert_sentence(browser.wait_text("#files-msg", "deleted"))
    with Rpc(media_daemon, make_token("viewer")) as rpc:
        reply = rpc.request("get_recording_info", {"filename": entry["filename"]})
    assert reply["error"]["code"] == -32010


def test_a_recording_started_by_another_client_shows_for_a_viewer(browser, media_daemon):
    need(media_daemon, "recordings")
    browser.sign_in_as(media_daemon, "viewer")
    browser.wait_card("test_cam1", "CONNECTED")
    with Rpc(media_daemon, make_token("operator")) as other:
        r = other.call("start_recording", {"device": "test_cam1", "duration": 4})
        browser.wait_visible(card_css("test_cam1", ".rec-indicator"), timeout=15)
        msg = browser.wait_text(card_css("test_cam1", ".card-msg"), "started by another client")
        assert r["filename"] in msg
        assert browser.wait_text(card_css("test_cam1", ".rec-time"), "/ 00:04")
        browser.wait_gone(card_css("test_cam1", ".rec-indicator"), timeout=40)
    assert_sentence(browser.wait_text(card_css("test_cam1", ".card-msg"), "Recording saved:"))
    assert not browser.find_all(card_css("test_cam1", 'button[data-action="record"]'))


def test_a_page_opened_mid_recording_shows_it(browser, media_daemon):
    need(media_daemon, "recordings", "file_management")
    with Rpc(media_daemon, make_token("operator")) as other:
        r = other.call("start_recording", {"device": "test_cam0", "duration": 20})
        browser.sign_in_as(media_daemon, "viewer")  # no recording.start event reaches this page
        browser.wait_visible(card_css("test_cam0", ".rec-indicator"), timeout=10)
        assert r["filename"] in browser.wait_text(card_css("test_cam0", ".card-msg"), "started by another client")
        assert browser.wait_text(card_css("test_cam0", ".rec-time"), "/ 00:20")
        other.call("stop_recording", {"device": "test_cam0"}, timeout=60)
        browser.wait_gone(card_css("test_cam0", ".rec-indicator"), timeout=20)


# --- files ----------------------------------------------------------------------------------------

def test_files_are_newest_first_paged_and_per_camera_and_a_viewer_cannot_delete(browser, media_daemon):
    need(media_daemon, "snapshots", "file_management")
    allow_downloads(browser)
    with Rpc(media_daemon, make_token("operator")) as rpc:
        for device, n in (("test_cam0", 11), ("test_cam1", 2)):
            for _ in range(n):
                rpc.call("take_snapshot", {"device": device}, timeout=60)
        first_page = rpc.call("list_snapshots", {"limit": 10})
    total = first_page["total"]
    assert total >= 13
    times = [f["created_time"] for f in first_page["files"]]
    assert times == sorted(times, reverse=True), "the daemon lists newest first"

    browser.sign_in_as(media_daemon, "viewer")
    browser.wait_card("test_cam0")
    browser.find('#nav a[data-view="files"]').click()
    browser.find('button[data-kind="snapshots"]').click()
    Select(browser.find("#files-limit")).select_by_value("10")
    browser.wait_text("#files-page", f"1–10 of {total}")
    names = [r.get_attribute("data-filename") for r in browser.find_all("#files-body tr[data-filename]")]
    assert names == [f["filename"] for f in first_page["files"]]
    assert not browser.find_all('#files-body button[data-action="delete"]')
    assert browser.find("#files-prev").get_attribute("disabled") is not None
    browser.find("#files-next").click()
    browser.wait_text("#files-page", f"11–{min(20, total)} of {total}")

    Select(browser.find("#files-device")).select_by_value("test_cam1")
    browser.wait_text("#files-page", "1–2 of 2")
    rows = browser.find_all("#files-body tr[data-filename]")
    assert len(rows) == 2 and all("test_cam1" in r.text for r in rows)
    assert all("640x480" in r.text for r in rows)

    name = rows[0].get_attribute("data-filename")
    browser.find(f'#files-body tr[data-filename="{name}"] button[data-action="preview"]').click()
    assert browser.wait(lambda: image_loaded(browser, "#files-preview img"), "no preview image", 20) == 640
    browser.find(f'#files-body tr[data-filename="{name}"] button[data-action="download"]').click()
    wait_download(browser, name)


# --- storage --------------------------------------------------------------------------------------

def test_the_system_page_shows_storage_and_sets_the_retention_policy(browser, media_daemon):
    need(media_daemon, "file_management")
    browser.sign_in_as(media_daemon, "admin")
    browser.wait_card("test_cam0")
    browser.find('#nav a[data-view="system"]').click()
    bar = browser.wait_visible('#storage-body [role="meter"]')
    used = float(bar.get_attribute("aria-valuenow"))
    assert 0 <= used <= 100
    legend = browser.text("#storage-body .bar-legend")
    assert re.search(r"Warning at \d+(\.\d+)? % · blocking at \d+(\.\d+)? %", legend), legend
    assert "free" in browser.text("#storage-body .storage-headline")

    Select(browser.find("#retention-type")).select_by_value("size")
    enabled = browser.find("#retention-enabled")
    if not enabled.is_selected():
        enabled.click()
    browser.find("#retention-save").click()
    assert_sentence(browser.wait_text("#retention-msg", "needs the maximum size"))

    Select(browser.find("#retention-type")).select_by_value("age")
    browser.find("#retention-age").send_keys("30")
    browser.find("#retention-save").click()
    saved = assert_sentence(browser.wait_text("#retention-msg", "Saved:"))
    assert "age" in saved and "enabled" in saved

    browser.find("#cleanup-preview").click()
    assert_sentence(browser.wait_text("#cleanup-msg", "clean-up would remove"))
