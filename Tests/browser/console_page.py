"""The console as a page object for the browser tests: navigation, sign-in, waits, and the
browser console log (SEVERE entries fail a test unless allowed)."""
import json
import re
import time

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

DESKTOP = (1280, 900)


class Console:
    def __init__(self, driver):
        self.driver = driver
        self.allowed = []      # regexes of console messages a test expects
        self.errors = []       # SEVERE entries seen so far

    # --- state between tests ---------------------------------------------------------------------

    def reset(self):
        d = self.driver
        try:
            d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        except Exception:
            pass
        d.set_window_size(*DESKTOP)
        d.get("about:blank")
        d.get_log("browser")  # drop what earlier tests left
        self.allowed = []
        self.errors = []

    def phone(self, width=375, height=780):
        """Phone width through device emulation (a headless window cannot be narrower than ~500 px)."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True})

    # --- browser console ---------------------------------------------------------------------------

    def allow_console_error(self, pattern):
        self.allowed.append(re.compile(pattern))

    def collect_logs(self):
        for e in self.driver.get_log("browser"):
            if e.get("level") == "SEVERE" and not any(p.search(e.get("message", "")) for p in self.allowed):
                self.errors.append(e)
        return self.errors

    def assert_no_console_errors(self):
        errors = self.collect_logs()
        assert not errors, "browser console errors:\n" + "\n".join(f"  {e['message']}" for e in errors)

    # --- navigation --------------------------------------------------------------------------------

    def open(self, daemon, path="/"):
        self.daemon = daemon
        self.driver.get(daemon.http + path)
        self.wait(lambda: self.js("return document.readyState") == "complete", "the page did not load")

    def go(self, view):
        self.driver.get(self.daemon.http + f"/#/{view}")
        self.wait_visible(f"#view-{view}")

    def reload(self):
        self.driver.refresh()

    def sign_in(self, token, expect_ok=True):
        field = self.wait_visible("#token")
        field.clear()
        field.send_keys(token)
        self.find("#signin-submit").click()
        if expect_ok:
            self.wait(lambda: self.js("return document.body.dataset.signedIn") == "true", "sign-in did not complete")
            self.wait_visible("#view-cameras")

    def sign_in_as(self, daemon, role="admin", ttl=3600):
        from conftest import make_token
        self.open(daemon)
        self.sign_in(make_token(role, ttl=ttl))

    # --- finding and waiting -----------------------------------------------------------------------

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def find(self, css, root=None):
        return (root or self.driver).find_element(By.CSS_SELECTOR, css)

    def find_all(self, css, root=None):
        return (root or self.driver).find_elements(By.CSS_SELECTOR, css)

    def exists(self, css):
        return bool(self.find_all(css))

    def is_visible(self, css):
        return any(e.is_displayed() for e in self.find_all(css))

    def wait(self, cond, message="condition not met", timeout=10):
        def check(_):
            try:
                return cond()
            except (NoSuchElementException, StaleElementReferenceException):
                return False
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(check)
        except TimeoutException:
            raise AssertionError(f"{message} (after {timeout} s)") from None

    def wait_visible(self, css, timeout=10):
        return self.wait(lambda: next((e for e in self.find_all(css) if e.is_displayed()), None), f"{css} not visible", timeout)

    def wait_gone(self, css, timeout=10):
        self.wait(lambda: not self.is_visible(css), f"{css} still visible", timeout)

    def wait_text(self, css, text, timeout=10):
        """Waits until an element matching css shows text containing `text`; returns that text."""
        def cond():
            for e in self.find_all(css):
                t = e.text
                if text in t and e.is_displayed():
                    return t
            return None
        try:
            return self.wait(cond, timeout=timeout)
        except AssertionError:
            seen = [e.text for e in self.find_all(css)]
            raise AssertionError(f"no {css} showing {text!r} after {timeout} s; seen: {seen!r}") from None

    def text(self, css):
        return self.find(css).text

    # --- console specifics -------------------------------------------------------------------------

    def card(self, device):
        return self.find(f'article.card[data-device="{device}"]')

    def wait_card(self, device, status=None, timeout=10):
        def cond():
            els = self.find_all(f'article.card[data-device="{device}"]')
            if not els:
                return None
            if status and els[0].get_attribute("data-status") != status.lower():
                return None
            return els[0]
        return self.wait(cond, f"no card for {device}" + (f" with status {status}" if status else ""), timeout)

    def card_button(self, device, action):
        return self.find(f'article.card[data-device="{device}"] button[data-action="{action}"]')

    def visible_buttons(self):
        return [b.text for b in self.find_all("button") if b.is_displayed()]

    def active_element(self):
        return self.js("const a = document.activeElement; return a ? (a.id || a.dataset.action || a.textContent.trim() || a.tagName) : ''")

    def tab(self, shift=False):
        from selenium.webdriver.common.action_chains import ActionChains
        chain = ActionChains(self.driver)
        if shift:
            chain.key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT)
        else:
            chain.send_keys(Keys.TAB)
        chain.perform()

    def session_token(self):
        return self.js("return sessionStorage.getItem('camera-service.token')")

    def no_horizontal_overflow(self, width=None):
        """Nothing wider than the viewport (on a phone, the layout viewport grows with wide content:
        pass the device width)."""
        if width is None:
            return self.js("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        return self.js("return document.documentElement.scrollWidth <= arguments[0] + 1 && window.innerWidth <= arguments[0] + 1", width)


def assert_sentence(text):
    """A user-facing error: a sentence, not a JSON dump or a bare code."""
    t = text.strip()
    assert t, "empty message"
    assert not t.startswith(("{", "[")) and '"code"' not in t and "jsonrpc" not in t, f"raw JSON shown: {t!r}"
    assert not re.search(r"\{\s*\"", t), f"JSON-looking text: {t!r}"
    assert t[0].isupper(), f"not a sentence: {t!r}"
    assert t.endswith((".", "!", "?", "…")), f"not a sentence: {t!r}"
    return t


def dump(obj):
    return json.dumps(obj, indent=1)
