"""Browser tests: Playwright drives Debian's chromium (never a downloaded browser).

A live server runs the app on a migrated SQLite database in a background thread.
Screenshots go to ``test-artifacts/screenshots/`` (phone 360×740 and desktop 1280×800).

The live server shares the session's ``sqlite_engine`` with the other tests; browser tests
build their data with ``make_birth`` and empty the database again with ``clean_db``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy.engine import Engine

from tests.conftest import _empty_tables, skip_or_fail

CHROMIUM = os.environ.get("CHUDONG_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_settings():
    """The settings the live server runs with (tests need its secret key for QR tokens)."""
    from chudong.config import Settings

    return Settings(env="test")


@pytest.fixture(scope="session")
def live_server(sqlite_engine, live_settings) -> Iterator[str]:
    import uvicorn

    from chudong.app import create_app

    app = create_app(live_settings, sqlite_engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        skip_or_fail(f"chromium not found at {CHROMIUM} (make test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(params=[("phone", 360, 740), ("desktop", 1280, 800)], ids=lambda p: p[0])
def page(request, browser):
    name, width, height = request.param
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    pg = ctx.new_page()
    pg.viewport_name = name  # type: ignore[attr-defined]
    yield pg
    ctx.close()


VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 800}}


def screenshot_both(page, name: str) -> list[Path]:
    """Save full-page screenshots of the page as it is now at phone and at desktop width."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original, paths = page.viewport_size, []
    for viewport, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        paths.append(SCREENSHOTS / f"{name}-{viewport}.png")
        page.screenshot(path=str(paths[-1]), full_page=True)
    page.set_viewport_size(original)
    return paths


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot named after the page and the viewport."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{page.viewport_name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def phone_page(browser):
    """One page at phone width (360×740) for checks that need only the narrowest screen."""
    ctx = browser.new_context(viewport=VIEWPORTS["phone"], locale="vi-VN")
    pg = ctx.new_page()
    pg.viewport_name = "phone"  # type: ignore[attr-defined]
    yield pg
    ctx.close()


@pytest.fixture
def new_page(browser):
    """Return a factory of phone-width pages, each in a fresh browser context (another user)."""
    contexts = []

    def make():
        ctx = browser.new_context(viewport=VIEWPORTS["phone"], locale="vi-VN")
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.viewport_name = "phone"  # type: ignore[attr-defined]
        return pg

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def clean_db(sqlite_engine) -> Iterator[Engine]:
    """The live server's database; every non-reference table is emptied after the test."""
    try:
        yield sqlite_engine
    finally:
        _empty_tables(sqlite_engine)


WHY_VI = "Bệnh viện Phụ sản – Nhi Đà Nẵng báo bé sinh ngày 30/10/2026; khai sinh trong 60 ngày."
WHY_EN = "The hospital reported a birth on 30/10/2026; registration is due within 60 days."


@dataclass(frozen=True)
class Birth:
    """A mother with an offered birth dossier, the commune officer and a leader (committed)."""

    code: str
    pid: str
    person_id: int
    phone: str
    mother_name: str
    officer: str
    officer_name: str
    leader: str


def make_birth(engine: Engine, *, mother_name: str = "Nguyễn Thị Lan") -> Birth:
    """Commit a mother, her offered birth dossier (with a reason), its officer and a leader."""
    from chudong.db import session_factory
    from chudong.dossiers import service as dossiers
    from tests.dossiers import builders as b
    from tests.portal.helpers import staff_account

    tag = uuid.uuid4().hex[:8]
    with session_factory(engine)() as s:
        b.units(s)
        mother = b.person(s, full_name=mother_name)
        vital = b.vital_event(s, mother=mother)
        ev = b.life_event(s, "birth-registration", person=mother, vital=vital)
        ev.reason = {**ev.reason, "text_vi": WHY_VI, "text_en": WHY_EN}
        s.flush()
        code = dossiers.open_dossiers(s, [ev.id]).codes[0]
        d = dossiers.get_by_code(s, code)
        officer = b.officer(s, d.handling_unit_code, username=f"cb.{tag}")
        staff_account(s, officer.username, "officer", unit_code=officer.unit_code, agency=officer.agency)
        staff_account(s, f"lanhdao.{tag}", "leader")
        s.commit()
        return Birth(code=code, pid=mother.pid, person_id=mother.id, phone=mother.phone, mother_name=mother_name,
                     officer=officer.username, officer_name=officer.full_name, leader=f"lanhdao.{tag}")


def wait_for_code(engine: Engine, person_id: int, timeout: float = 5.0) -> str:
    """Return the newest sign-in code sent to a person, waiting for the server's commit.

    The request's transaction commits after the response has gone out (FastAPI's
    request-scoped dependencies), so the row can lag the page by a moment.
    """
    from chudong.db import session_factory
    from tests.portal.helpers import last_code

    deadline = time.monotonic() + timeout
    while True:
        with session_factory(engine)() as s:  # a new transaction each time sees the latest commit
            try:
                return last_code(s, person_id)
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
        time.sleep(0.02)


def citizen_signin(page, base: str, engine: Engine, birth: Birth, *, shots: bool = False) -> None:
    """Sign a citizen in through the real pages: personal ID number, then the one-time code."""
    page.goto(base + "/signin")
    if shots:
        screenshot_both(page, "signin")
    page.fill("#pid", birth.pid)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    page.wait_for_selector("#code")
    if shots:
        screenshot_both(page, "code")
    page.fill("#code", wait_for_code(engine, birth.person_id))
    with page.expect_navigation(url="**/me"):
        page.click("main form button[type=submit]")


def staff_signin(page, base: str, username: str, *, landing: str, shots: bool = False) -> None:
    """Sign a staff member in with the test password and wait for the role's landing page."""
    page.goto(base + "/staff/signin")
    if shots:
        screenshot_both(page, "staff-signin")
    page.fill("#username", username)
    from tests.portal.helpers import STAFF_PASSWORD

    page.fill("#password", STAFF_PASSWORD)
    with page.expect_navigation(url=f"**{landing}"):
        page.click("main form button[type=submit]")
