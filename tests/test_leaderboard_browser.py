"""index.html in headless Chromium (chromedriver + a tiny standard-library WebDriver client).

Checks the rendered rows, that clicking a header sorts, RTL text and a phone-width layout.
Skipped when Debian's chromium / chromium-driver are not installed (`make install` installs them).
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from leaderboards.rank import main as rank_main
from test_leaderboard_helpers import make_entry

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARABIC_MODEL = "نموذج عربي تجريبي"

pytestmark = pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists())
                                and not (shutil.which("chromium") and shutil.which("chromedriver")),
                                reason="chromium and chromedriver are not installed")


class WebDriver:
    """Just enough of the W3C WebDriver protocol over HTTP (urllib)."""

    def __init__(self, port: int, profile: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,900"]
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"), "args": args}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())["value"]

    def cmd(self, method: str, path: str, body: dict | None = None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def js(self, script: str, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def click_css(self, selector: str) -> None:
        found = self.cmd("POST", "/element", {"using": "css selector", "value": selector})
        element = next(iter(found.values()))
        self.cmd("POST", f"/element/{element}/click", {})

    def quit(self) -> None:
        try:
            self.cmd("DELETE", "")
        except OSError:
            pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def board(tmp_path_factory, keys_dir) -> Path:
    """Three entries (one with an Arabic model name), ranked into an output folder."""
    results = tmp_path_factory.mktemp("results")
    make_entry(results, "tiny-hybrid", strategy="hybrid", level=2)
    make_entry(results, "tiny-uniform", strategy="uniform", level=3)
    make_entry(results, "arabic-zero", model_id=ARABIC_MODEL, strategy=None, level=0)
    out = tmp_path_factory.mktemp("board")
    assert rank_main(["--results-dir", str(results), "--output-dir", str(out), "--strict", "--keys-dir", str(keys_dir)]) == 0
    return out / "index.html"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    port = _free_port()
    driver = subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        client = WebDriver(port, tmp_path_factory.mktemp("chromium-profile"))
        try:
            yield client
        finally:
            client.quit()
    finally:
        driver.terminate()
        driver.wait(timeout=20)


COLUMN = "return Array.from(document.querySelectorAll('#leaderboard tbody tr')).map(r => r.cells[arguments[0]].innerText.trim())"


def test_rows_render_and_header_click_sorts(board, browser):
    browser.cmd("POST", "/url", {"url": board.as_uri()})
    assert browser.js("return document.title") == "AraMega-SSum leaderboard"
    assert browser.js("return document.querySelectorAll('#leaderboard tbody tr').length") == 3
    assert browser.js(COLUMN, 0) == ["1", "2", "3"]
    systems = browser.js(COLUMN, 1)
    assert systems[0].startswith(ARABIC_MODEL) and systems[1:] == ["tiny embedded", "tiny embedded"]
    assert browser.js(COLUMN, 2) == ["zero-shot", "uniform", "hybrid"]
    assert all("[" in cell and "]" in cell for cell in browser.js(COLUMN, 4))  # CIs shown
    # click "Strategy": ascending text sort, then descending
    browser.click_css("#leaderboard thead th:nth-child(3)")
    assert browser.js(COLUMN, 2) == ["hybrid", "uniform", "zero-shot"]
    assert browser.js("return document.querySelector('#leaderboard thead th:nth-child(3)')"
                      ".getAttribute('aria-sort')") == "ascending"
    browser.click_css("#leaderboard thead th:nth-child(3)")
    assert browser.js(COLUMN, 2) == ["zero-shot", "uniform", "hybrid"]
    # click "ASR WER": numeric ascending puts the best (lowest) WER first
    browser.click_css("#leaderboard thead th:nth-child(5) button")
    wers = [float(cell.split()[0]) for cell in browser.js(COLUMN, 4)]
    assert wers == sorted(wers) and wers[0] < wers[-1]
    browser.click_css("#leaderboard thead th:nth-child(1)")
    assert browser.js(COLUMN, 0) == ["1", "2", "3"]


def test_rtl_text_and_phone_width(board, browser):
    browser.cmd("POST", "/url", {"url": board.as_uri()})
    direction = browser.js("return getComputedStyle(document.querySelector("
                           "'#leaderboard tbody tr td:nth-child(2) bdi')).direction")
    assert direction == "rtl"  # <bdi> isolates the Arabic name and resolves it right-to-left
    browser.cmd("POST", "/window/rect", {"width": 390, "height": 844})
    layout = browser.js("return [document.documentElement.scrollWidth, window.innerWidth,"
                        " document.querySelector('.scroll').scrollWidth > document.querySelector('.scroll').clientWidth]")
    page_width, viewport, table_scrolls = layout
    assert page_width <= viewport  # the page itself never scrolls sideways on a phone
    assert table_scrolls  # the wide table scrolls inside its own box instead
    assert browser.js("return document.querySelectorAll('img[src^=\"data:image/png;base64,\"]').length") == 5
    assert browser.js("return Array.from(document.querySelectorAll('[src],[href]')).filter("
                      "e => /^(https?:)?\\/\\//.test(e.getAttribute('src') || e.getAttribute('href'))).length") == 0


@pytest.fixture(scope="module")
def wide_board(tmp_path_factory, keys_dir) -> Path:
    """Seven entries with long names, labels and all five tasks: the widest table the board makes."""
    from test_leaderboard_helpers import make_records

    results = tmp_path_factory.mktemp("wide-results")
    names = ["my-organisation/qwen2.5-omni-7b-aramega-hybrid-lora-r16-final-v2", "baseline/lead-2-oracle-transcript",
             "another-team/an-extremely-long-system-name-without-any-natural-break-points-at-all",
             "نموذج عربي تجريبي بأسماء طويلة جدا", "tiny", "org/m", "baseline/uniform-random"]
    for i, model in enumerate(names):
        records = make_records(i % 4) if not model.startswith("baseline/") else \
            [r for r in make_records(1) if r["task"] in ("ssum", "dialect")]
        make_entry(results, f"wide-{i}", model_id=model, strategy=("hybrid", "tpc", None)[i % 3], level=i % 4,
                   records=records)
    out = tmp_path_factory.mktemp("wide-board")
    assert rank_main(["--results-dir", str(results), "--output-dir", str(out), "--strict", "--keys-dir", str(keys_dir)]) == 0
    return out / "index.html"


def test_table_fits_a_1280_px_window(wide_board, browser):
    browser.cmd("POST", "/window/rect", {"width": 1280, "height": 900})
    browser.cmd("POST", "/url", {"url": wide_board.as_uri()})
    assert browser.js("return window.outerWidth") == 1280
    sizes = browser.js("var s = document.querySelector('.scroll'); return [s.scrollWidth, s.clientWidth,"
                       " document.documentElement.scrollWidth, window.innerWidth,"
                       " document.querySelectorAll('#leaderboard tbody tr').length]")
    table_width, box_width, page_width, viewport, rows = sizes
    assert rows == 7
    assert table_width <= box_width, f"the table needs {table_width}px in a {box_width}px box: horizontal scrollbar"
    assert page_width <= viewport
    text = browser.js("return document.body.innerText")
    assert "None" not in text and "baseline" in text and "oracle-transcript" in text and "▼" in text
