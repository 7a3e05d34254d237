"""The web workspace in a real headless Chromium (Debian's chromium and chromedriver,
driven by Selenium; nothing is downloaded). Skipped, and said so, where they are missing:
.ci/run installs them."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import open_app
from bot.web import build_web_app
from bot.webui.core import Workspace
from scheduler.plan import recurring_rounds
from storage.models import Record
from storage.rounds import confirm, ensure_rounds
from tests.conftest import TZ_NOW, make_settings, registered
from tests.test_web_pages import BIEN_GIOI, workbook_bytes
from tests.web_support import add_record, login_path, no_messenger, unit_id

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1366,768",
)  # fmt: skip

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="browser tests skipped: Debian's chromium and chromium-driver are not installed "
    "(.ci/run installs them)",
)


class LiveServer:
    """The backend on 127.0.0.1 in a thread of its own, so the browser can be driven from
    the test while the server answers."""

    def __init__(self, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.app = self.run(open_app(make_settings(data_dir), clock=lambda: TZ_NOW))
        workspace = Workspace(self.app, no_messenger, clock=lambda: TZ_NOW)
        self.runner = web.AppRunner(build_web_app(self.app, workspace=workspace))
        self.run(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.run(site.start())
        port = site._server.sockets[0].getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def close(self) -> None:
        self.run(self.runner.cleanup())
        self.run(self.app.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
        driver.implicitly_wait(5)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture
def server(tmp_path, browser) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path / "data")
    browser.delete_all_cookies()
    try:
        yield live
    finally:
        live.close()


def by_css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector)


def click(driver, selector: str) -> None:
    """Click something that loads a new page, and wait for that page."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element("tag name", "html")
    by_css(driver, selector).click()

    def left(_driver) -> bool:
        """The old page is gone: Chromium says so as a stale element or, mid-navigation,
        as a node that "does not belong to the document"."""
        try:
            page.is_enabled()
        except WebDriverException:
            return True
        return False

    WebDriverWait(driver, 10).until(left)


def sign_in(driver, server: LiveServer, user_id: str, **kind) -> None:
    """Ask the bot for a link in the chat, open it in the browser, press the button."""
    user = server.run(registered(server.app, user_id, **kind))
    server.run(user.send("/web"))
    driver.get(server.base + login_path(user.text))
    click(driver, "button.primary")
    assert by_css(driver, "h1").text.startswith("Xin chào")


def test_sign_in_through_a_chat_link(browser, server):
    sign_in(browser, server, "lan", role="coordinator")
    assert "Người dùng lan" in by_css(browser, ".who").text
    links = [a.text for a in browser.find_elements("css selector", "nav a")]
    assert links == ["Tổng quan", "Hoạt động", "Nhập từ Excel", "Biểu đồ", "Mã mời", "Đơn vị"]


def test_the_round_page_lists_units_with_their_statuses(browser, server):
    server.run(registered(server.app, "a", unit="Sở Tài chính"))
    server.run(registered(server.app, "b", unit="Sở Nội vụ"))

    async def confirmed():
        async with server.app.sessions() as db, db.begin():
            await ensure_rounds(db, recurring_rounds(2023, server.app.settings))
            await confirm(db, "2023-Y", await unit_id(server.app, "Sở Tài chính"), 1, False)

    server.run(confirmed())
    sign_in(browser, server, "lan", role="coordinator")
    click(browser, 'a[href="/web/rounds/2023-Y"]')
    status = {
        row.get_attribute("data-unit"): row.find_element("css selector", ".badge").text
        for row in browser.find_elements("css selector", "tr[data-unit]")
    }
    assert status["Sở Tài chính"] == "Đã xác nhận"
    assert status["Sở Nội vụ"] == "Chưa báo cáo"
    assert status["Sở Xây dựng"] == "Chưa có đầu mối"
    click(browser, 'a[href$="?loc=chua"]')
    shown = [
        r.get_attribute("data-unit") for r in browser.find_elements("css selector", "tr[data-unit]")
    ]
    assert "Sở Nội vụ" in shown and "Sở Tài chính" not in shown
    browser.save_screenshot(str(Path(tempfile.gettempdir()) / "doingoai-round.png"))


def test_filter_the_records_table(browser, server):
    server.run(add_record(server.app, "Sở Tài chính", ten_doan="Đoàn Nhật Bản", nuoc="Nhật Bản"))
    server.run(add_record(server.app, "Sở Nội vụ", ten_doan="Đoàn Lào"))
    sign_in(browser, server, "lan", role="coordinator")
    browser.get(server.base + "/web/records")
    assert by_css(browser, "#result-count").text == "2 hoạt động"
    by_css(browser, "#f-q").send_keys("nhat ban")
    click(browser, ".filters button.primary")
    assert by_css(browser, "#result-count").text == "1 hoạt động"
    assert "Đoàn Nhật Bản" in by_css(browser, "#records").text
    assert "Đoàn Lào" not in by_css(browser, "#records").text


def test_edit_a_record_with_a_bad_value_then_fix_it(browser, server):
    record_id = server.run(add_record(server.app, "Sở Ngoại vụ"))
    sign_in(browser, server, "hoa")
    browser.get(f"{server.base}/web/records/{record_id}/edit")
    people = by_css(browser, "#f-so_nguoi")
    people.clear()
    people.send_keys("tám người")
    click(browser, "button.primary")
    explanation = by_css(browser, "#e-so_nguoi").text
    assert explanation.startswith("Vui lòng nhập một số nguyên") and "Ví dụ: 8" in explanation
    assert by_css(browser, "#f-so_nguoi").get_attribute("value") == "tám người"
    people = by_css(browser, "#f-so_nguoi")
    people.clear()
    people.send_keys("1.700")
    click(browser, "button.primary")
    assert "Đã lưu thay đổi" in by_css(browser, ".flash").text

    async def stored():
        async with server.app.sessions() as db:
            return (await db.get(Record, record_id)).values["so_nguoi"]

    assert server.run(stored()) == 1700


def test_an_upload_with_one_bad_row_imports_nothing_and_lists_it(browser, server, tmp_path):
    path = tmp_path / "bien-gioi.xlsx"
    path.write_bytes(workbook_bytes({"bien_gioi": [
        BIEN_GIOI,
        ["bien_gioi", "", "12/3/2023", "Hội đàm biên giới", "2"],
        ["bien_gioi", "", "31/2/2023", "Tuần tra chung", ""],
    ]}))  # fmt: skip
    sign_in(browser, server, "hoa", unit="Sở Nội vụ")
    browser.get(server.base + "/web/import")
    by_css(browser, "#file").send_keys(str(path))
    click(browser, "form.stack button.primary")
    errors = by_css(browser, "#import-errors").text
    assert "Không nhập gì cả: có 1 lỗi" in errors
    assert "dòng 3: ngay: Ngày 31/2/2023 không tồn tại." in errors
    browser.get(server.base + "/web/records")
    assert by_css(browser, "#result-count").text == "0 hoạt động"


def test_a_focal_point_cannot_open_another_units_record(browser, server):
    other = server.run(add_record(server.app, "Sở Tài chính"))
    sign_in(browser, server, "hoa", unit="Sở Nội vụ")
    for suffix in ("", "/edit", "/delete"):
        browser.get(f"{server.base}/web/records/{other}{suffix}")
        assert by_css(browser, "h1").text == "Không tìm thấy"
    browser.get(server.base + "/web/units")
    assert by_css(browser, "h1").text == "Không có quyền truy cập"


def test_a_post_without_the_csrf_token_is_refused(browser, server):
    sign_in(browser, server, "lan", role="coordinator")
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element("tag name", "html")
    browser.execute_script(
        "var form = document.querySelector('form[action=\"/web/logout\"]');"
        "form.querySelector('input[name=csrf]').remove(); form.submit();"
    )
    WebDriverWait(browser, 10).until(expected_conditions.staleness_of(page))
    assert by_css(browser, "h1").text == "Phiên làm việc không hợp lệ"
    browser.get(server.base + "/web/")
    assert by_css(browser, "h1").text.startswith("Xin chào")  # still signed in


def test_a_standing_paragraph_edited_in_the_draft_is_in_the_downloaded_docx(browser, server):
    import io
    import urllib.request

    from docx import Document

    server.run(add_record(server.app, "Sở Tài chính"))
    sign_in(browser, server, "lan", role="coordinator")
    browser.get(server.base + "/web/rounds/2023-Y/draft?mau=nam")
    assert "[CẦN BỔ SUNG" in by_css(browser, "mark.gap").text
    field = by_css(browser, "#text-bien_gioi")
    field.clear()
    field.send_keys("Tình hình tuyến biên giới với hai tỉnh bạn Lào ổn định.")
    click(browser, "#doan-bien_gioi button")
    assert "Đã lưu đoạn văn" in by_css(browser, ".flash").text
    assert "Tình hình tuyến biên giới" in by_css(browser, "article.draft").text
    link = by_css(browser, 'a[href$="/draft/file/docx?mau=nam"]').get_attribute("href")
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    request = urllib.request.Request(link, headers={"Cookie": cookies})
    with urllib.request.urlopen(request, timeout=30) as response:
        document = Document(io.BytesIO(response.read()))
    texts = [p.text for p in document.paragraphs]
    assert "Tình hình tuyến biên giới với hai tỉnh bạn Lào ổn định." in texts
