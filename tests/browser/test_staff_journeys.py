"""Staff journeys in the browser, in Vietnamese and English: an officer refusing to approve an invalid field;
the leader dashboard at 360 px; the API reference with no network. Screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chudong.db import session_factory
from tests.browser.conftest import SCREENSHOTS, make_birth, staff_signin
from tests.browser.test_accessibility import axe_violations

def screenshot(pg, name: str) -> None:
    """Save a full-page screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
TEXT = {
    "vi": {"cannot": "Không thể phê duyệt", "reason": "số định danh cá nhân phải gồm đúng 12 chữ số",
           "field": "Số định danh cá nhân của người cha", "legend": "tiếp nhận"},
    "en": {"cannot": "cannot be approved", "reason": "a personal ID has exactly 12 digits",
           "field": "Father's personal ID", "legend": "received"},
}


def _signed_in(browser, live_server, viewport, lang, username, landing):
    """Return a new context and page in ``lang`` with a staff member signed in (close the context after)."""
    ctx = browser.new_context(viewport=viewport, locale="vi-VN" if lang == "vi" else "en-GB")
    pg = ctx.new_page()
    if lang == "en":
        pg.goto(live_server + "/lang/en")
    staff_signin(pg, live_server, username, landing=landing)
    return ctx, pg


def _confirmed_with_invalid_father_id(engine, birth) -> None:
    """The mother confirmed; the father's ID on the dossier is "123" (as an older version of the form let through)."""
    from chudong.dossiers import service as dossiers
    from chudong.identity.principal import Principal

    with session_factory(engine)() as s:
        d = dossiers.get_by_code(s, birth.code)
        dossiers.confirm(s, d, Principal.citizen(birth.person_id),
                         supplied={"child_name": "Lê Minh An", "father_pid": "048090001234"}, linked=[],
                         version=d.version)
        fields = {k: dict(v) for k, v in d.fields.items()}
        fields["father_pid"]["value"] = "123"
        d.fields = fields
        s.commit()


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360", "1280"])
def test_officer_refuses_to_approve_an_invalid_field(lang, viewport, browser, live_server, clean_db):
    birth = make_birth(clean_db)
    _confirmed_with_invalid_father_id(clean_db, birth)
    ctx, pg = _signed_in(browser, live_server, viewport, lang, birth.officer, "/officer/queue")
    try:
        pg.goto(f"{live_server}/officer/dossiers/{birth.code}")
        expect(pg.locator("#concerns")).to_contain_text(TEXT[lang]["reason"])
        tag = f"{viewport['width']}-{lang}"
        screenshot(pg, f"officer-invalid-field-{tag}")
        with pg.expect_navigation(url=f"**/officer/dossiers/{birth.code}/approve"):
            pg.click("#approve")
        expect(pg.locator("#cannot-approve")).to_contain_text(TEXT[lang]["cannot"])
        expect(pg.locator("#approve-confirmed")).to_have_count(0)  # no way to approve from here
        expect(pg.locator("#concern-list")).to_contain_text(TEXT[lang]["field"])
        assert axe_violations(pg) == []
        screenshot(pg, f"officer-approve-refused-{tag}")
    finally:
        ctx.close()
    from chudong.dossiers import service as dossiers

    with session_factory(clean_db)() as s:
        assert dossiers.get_by_code(s, birth.code).status == "confirmed"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_leader_dashboard_on_a_phone(lang, browser, live_server, clean_db):
    birth = make_birth(clean_db)
    ctx, pg = _signed_in(browser, live_server, PHONE, lang, birth.leader, "/leader")
    try:
        for chart in ("#chart-weekly", "#chart-index", "#chart-processing"):
            expect(pg.locator(chart)).to_be_visible()
        expect(pg.locator("#chart-weekly")).to_contain_text(TEXT[lang]["legend"])
        assert pg.evaluate("document.documentElement.scrollWidth") <= 360  # nothing scrolls sideways
        assert axe_violations(pg) == []
        screenshot(pg, f"leader-dashboard-360-{lang}")
    finally:
        ctx.close()


def test_api_reference_renders_with_no_network(browser, live_server):
    ctx = browser.new_context(viewport=DESKTOP)
    outside = []

    def only_local(route):
        if route.request.url.startswith(live_server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    try:
        pg = ctx.new_page()
        pg.route("**/*", only_local)
        pg.goto(live_server + "/docs")
        expect(pg.locator(".swagger-ui .info .title")).to_contain_text("chudong")
        assert outside == []
        screenshot(pg, "api-reference-1280")
    finally:
        ctx.close()


def _supplied_with_a_file(engine, birth, data_dir) -> None:
    """The officer asked for a supplement; the citizen uploaded the birth certificate and answered."""
    from sqlalchemy import select

    from chudong.dossiers import service as dossiers
    from chudong.dossiers.models import Officer
    from chudong.dossiers.uploads import add_upload, upload_directory
    from chudong.identity.principal import Principal

    with session_factory(engine)() as s:
        d = dossiers.get_by_code(s, birth.code)
        citizen = Principal.citizen(birth.person_id)
        dossiers.confirm(s, d, citizen, supplied={"child_name": "Lê Minh An", "father_pid": "048090001234"},
                         linked=[], version=d.version)
        o = s.scalar(select(Officer).where(Officer.username == birth.officer))
        officer = Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                            agency=o.agency, role=o.role)
        dossiers.claim(s, d, officer, version=d.version)
        dossiers.request_supplement(s, d, officer, reason="Bản sao giấy chứng sinh", documents=["giấy chứng sinh"],
                                    version=d.version)
        add_upload(s, d, citizen, kind="supplement", filename="giay-chung-sinh.pdf",
                   content=b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
                   directory=upload_directory(data_dir), scanner=None)
        dossiers.supply(s, d, citizen, values={}, note="Đã gửi bản sao", version=d.version)
        s.commit()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_officer_sees_the_supplement_file_and_approves(lang, browser, live_server, live_settings, clean_db):
    birth = make_birth(clean_db)
    _supplied_with_a_file(clean_db, birth, live_settings.data_dir)
    ctx, pg = _signed_in(browser, live_server, DESKTOP, lang, birth.officer, "/officer/queue")
    try:
        pg.goto(f"{live_server}/officer/dossiers/{birth.code}")
        link = pg.locator("#attachments a", has_text="giay-chung-sinh.pdf")
        expect(link).to_have_count(1)
        got = pg.request.get(live_server + link.get_attribute("href"))
        assert got.ok and got.body().startswith(b"%PDF")
        screenshot(pg, f"officer-supplement-file-1280-{lang}")
        with pg.expect_navigation(url=f"**/officer/dossiers/{birth.code}/approve"):
            pg.click("#approve")  # no household on record for the builders' mother: the check step
        pg.check("#checked")
        pg.fill("#note", "Đã đối chiếu bản sao giấy chứng sinh")
        with pg.expect_navigation(url=f"**/officer/dossiers/{birth.code}"):
            pg.click("#approve-confirmed")
        expect(pg.locator("#result-pdf")).to_have_count(1)
        screenshot(pg, f"officer-approved-1280-{lang}")
    finally:
        ctx.close()
