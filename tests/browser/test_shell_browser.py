import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_home_renders_and_switches_language(page, live_server):
    page.goto(live_server + "/")
    assert page.locator("h1").inner_text() == "Dịch vụ công tự tìm đến bạn"
    # no horizontal scrolling at phone width
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot = screenshot(page, "home")
    assert shot.stat().st_size > 1000
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Public services that come to you"
    page.get_by_role("link", name="Tiếng Việt").click()
    assert page.locator("h1").inner_text() == "Dịch vụ công tự tìm đến bạn"


def test_htmx_loaded_from_own_server(page, live_server):
    page.goto(live_server + "/")
    assert page.evaluate("typeof window.htmx") == "object"
