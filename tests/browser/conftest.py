"""Browser tests: Playwright drives Debian's chromium (never a downloaded browser).

A live server runs the app on a migrated SQLite database in a background thread.
Screenshots go to ``test-artifacts/screenshots/`` (phone 360×740 and desktop 1280×800).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import skip_or_fail

CHROMIUM = os.environ.get("CHUDONG_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(sqlite_engine) -> Iterator[str]:
    import uvicorn

    from chudong.app import create_app
    from chudong.config import Settings

    app = create_app(Settings(env="test"), sqlite_engine)
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


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot named after the page and the viewport."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{page.viewport_name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
