"""The citizen's last mile in a real browser (Debian chromium via Playwright), in Vietnamese and English.

1. notice → its link → sign-in (ID number, one-time code) → the dossier itself → a correction sent to the
   source agency → a wrong father's ID refused with an error summary, the typed values kept → check your
   answers → the confirmation page with the code and what happens next;
2. a citizen with no registered contact: the same code page as anyone, and the page on how to add one;
3. a supplement request: the citizen reads what is missing and by when, a file that is not a PDF is refused
   by its content, a PDF is uploaded (scanned by a real clamd) and the dossier goes back to processing.

Screenshots (``test-artifacts/screenshots/``): citizen-link-signin, citizen-dossier-from-link,
citizen-confirm-errors, citizen-check-answers, citizen-confirmed, citizen-no-contact-code,
citizen-no-contact-help, citizen-supplement, citizen-supplement-refused, citizen-supplement-sent — each
``-vi-`` and ``-en-`` at phone (360 px) and desktop (1280 px) width.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from chudong.adapters.scan.fake import EICAR
from chudong.db import session_factory
from tests.adapters.clamd_server import clamd_address  # noqa: F401  (fixture)
from tests.browser.conftest import make_birth, screenshot_both, wait_for_code

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
WORDS = {  # what each language's page says (asserted to be in the page, the other language's not)
    "vi": {"problem": "Có lỗi cần sửa", "pid": "Số định danh cá nhân gồm đúng 12 chữ số.", "next": "Các bước tiếp theo",
           "sent": "Hồ sơ của Ông/Bà đã được gửi", "missing": "Cơ quan giải quyết cần Ông/Bà bổ sung",
           "not_pdf": "không phải tệp PDF, JPEG hoặc PNG", "processing": "Đang xử lý", "none": "Không có",
           "help": "Cách đăng ký số điện thoại, Zalo hoặc thư điện tử"},
    "en": {"problem": "There is a problem", "pid": "A personal ID number has exactly 12 digits.",
           "next": "What happens next", "sent": "Your dossier has been sent", "missing": "The office needs more from you",
           "not_pdf": "is not a PDF, JPEG or PNG file", "processing": "In processing", "none": "None",
           "help": "How to register a phone, Zalo or e-mail"},
}
# English that must never reach a Vietnamese page (library and service messages, raw codes)
ENGLISH_MARKERS = ("must be", "should have", "Field required", "not valid", "seconds", "person:", "processing",
                   "Declarant", "None")


def _context(browser, lang: str):
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN" if lang == "vi" else "en-GB")
    return ctx


def _lang(page, base: str, lang: str) -> None:
    page.context.add_cookies([{"name": "lang", "value": lang, "url": base}])


def _notice_link(engine, code: str) -> str:
    """Return the path of the link in the dossier's offer notice (the inbox copy, as the citizen got it)."""
    from sqlalchemy import select

    from chudong.notifications.models import Notification

    with session_factory(engine)() as s:
        n = s.scalar(select(Notification).where(Notification.event_key == f"dossier:{code}"))
        body = n.rendered["inbox"]["body"]
    link = re.search(r"https?://\S+/d/[\w.\-]+", body).group(0)
    assert code in body and link.endswith(f"/d/{code}")
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def _sign_in_through(page, link: str, engine, birth, shot: str | None = None) -> None:
    """Follow a dossier link while signed out: ID number, one-time code, then the dossier itself."""
    page.goto(link)
    expect(page.locator('input[name="next"]')).to_have_value(f"/me/dossiers/{birth.code}")
    if shot:
        screenshot_both(page, shot)
    page.fill("#pid", birth.pid)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    page.fill("#code", wait_for_code(engine, birth.person_id))
    with page.expect_navigation(url=f"**/me/dossiers/{birth.code}"):
        page.click("main form button[type=submit]")


def _vietnamese_only(page) -> None:
    text = page.locator("main").inner_text()
    for marker in ENGLISH_MARKERS:
        assert marker not in text, (marker, page.url)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_notice_link_to_confirmation(browser, live_server, clean_db, lang):
    base, birth, words = live_server, make_birth(clean_db), WORDS[lang]
    ctx = _context(browser, lang)
    page = ctx.new_page()
    _lang(page, base, lang)
    try:
        # the notice's link asks for sign-in, then lands on that dossier (not on /me)
        _sign_in_through(page, base + _notice_link(clean_db, birth.code), clean_db, birth,
                         shot=f"citizen-link-signin-{lang}")
        expect(page.locator("h1")).to_be_visible()
        screenshot_both(page, f"citizen-dossier-from-link-{lang}")

        # a correction of a registry field goes to the source agency
        page.locator("summary", has_text="?").first.click()
        page.select_option("#field_name", index=0)
        page.fill("#value", "Sửa thử")
        with page.expect_navigation(url=f"**/me/dossiers/{birth.code}"):
            page.click(f'form[action="/me/dossiers/{birth.code}/correct"] button[type=submit]')

        # a wrong father's ID: listed in the summary and next to the field; what was typed stays
        page.fill("#f_child_name", "Lê Minh An")
        page.check("#f_father_pid_has")
        page.fill("#f_father_pid", "123")
        with page.expect_navigation():
            page.click("#confirm")
        summary = page.locator("#error-summary")
        expect(summary).to_contain_text(words["problem"])
        expect(summary).to_contain_text(words["pid"])
        expect(page.locator("#f_father_pid")).to_have_value("123")
        expect(page.locator("#f_child_name")).to_have_value("Lê Minh An")
        if lang == "vi":
            _vietnamese_only(page)
        screenshot_both(page, f"citizen-confirm-errors-{lang}")

        # "none on record" for the father, then check the answers and send
        page.check("#f_father_pid_none")
        with page.expect_navigation(url=f"**/me/dossiers/{birth.code}/check"):
            page.click("#confirm")
        expect(page.locator("#check-answers")).to_contain_text("Lê Minh An")
        expect(page.locator("#check-answers")).to_contain_text(words["none"])
        screenshot_both(page, f"citizen-check-answers-{lang}")
        with page.expect_navigation(url=f"**/me/dossiers/{birth.code}/confirmed"):
            page.click("#send")
        expect(page.locator("#confirmation")).to_contain_text(words["sent"])
        expect(page.locator("#confirmation .code")).to_have_text(birth.code)
        expect(page.locator("main")).to_contain_text(words["next"])
        if lang == "vi":
            expect(page.locator("main")).to_contain_text(re.compile(r"\d{1,2} tháng \d{1,2} năm \d{4}"))
            _vietnamese_only(page)
        screenshot_both(page, f"citizen-confirmed-{lang}")
    finally:
        ctx.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_citizen_without_a_contact(browser, live_server, clean_db, lang):
    from tests.dossiers import builders as b

    with session_factory(clean_db)() as s:
        b.units(s)
        nobody = b.person(s, full_name="Hà Văn Tư", ward_index=1)
        nobody.phone = None
        pid = nobody.pid
        s.commit()
    base = live_server
    ctx = _context(browser, lang)
    page = ctx.new_page()
    _lang(page, base, lang)
    try:
        page.goto(base + "/signin")
        page.fill("#pid", pid)
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        expect(page.locator("#code")).to_be_visible()  # the same page as for any number
        assert "person:" not in page.content()
        screenshot_both(page, f"citizen-no-contact-code-{lang}")
        with page.expect_navigation(url="**/signin/no-contact"):
            page.locator('a[href="/signin/no-contact"]').click()
        expect(page.locator("h1")).to_have_text(WORDS[lang]["help"])
        expect(page.locator('main a[href="/track"]')).to_be_visible()
        if lang == "vi":
            _vietnamese_only(page)
        screenshot_both(page, f"citizen-no-contact-help-{lang}")
    finally:
        ctx.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_supplement_request_answered_with_a_document(browser, live_server, live_settings, clean_db, lang,
                                                     clamd_address):  # noqa: F811
    from chudong.dossiers import service as dossiers
    from chudong.dossiers.models import Officer
    from chudong.identity.principal import Principal
    from sqlalchemy import select

    base, birth, words = live_server, make_birth(clean_db), WORDS[lang]
    with session_factory(clean_db)() as s:
        d = dossiers.get_by_code(s, birth.code)
        dossiers.confirm(s, d, Principal.citizen(birth.person_id),
                         supplied={"child_name": "Lê An", "father_pid": "Không có"}, linked=[], version=d.version)
        o = s.scalar(select(Officer).where(Officer.username == birth.officer))
        officer = Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                            agency=o.agency, role=o.role)
        dossiers.request_supplement(s, d, officer, reason="Bản sao giấy chứng sinh rõ nét",
                                    documents=["Giấy chứng sinh"], version=d.version)
        s.commit()
    previous, live_settings.clamd_address = live_settings.clamd_address, clamd_address
    ctx = _context(browser, lang)
    page = ctx.new_page()
    _lang(page, base, lang)
    try:
        _sign_in_through(page, f"{base}/d/{birth.code}", clean_db, birth)
        section = page.locator("#supplement")
        expect(section).to_contain_text(words["missing"])
        expect(section).to_contain_text("Bản sao giấy chứng sinh rõ nét")
        screenshot_both(page, f"citizen-supplement-{lang}")

        # a text file named .pdf is refused by its content; an infected PDF by clamd
        page.set_input_files("#files", files=[{"name": "giay-chung-sinh.pdf", "mimeType": "application/pdf",
                                               "buffer": b"only text, renamed"}])
        with page.expect_navigation():
            page.click("#send-supplement")
        expect(page.locator("#supplement .error-summary")).to_contain_text(words["not_pdf"])
        if lang == "vi":
            _vietnamese_only(page)
        screenshot_both(page, f"citizen-supplement-refused-{lang}")
        page.set_input_files("#files", files=[{"name": "scan.pdf", "mimeType": "application/pdf",
                                               "buffer": PDF + EICAR}])
        with page.expect_navigation():
            page.click("#send-supplement")
        expect(page.locator("#supplement .error-summary")).to_be_visible()

        page.set_input_files("#files", files=[{"name": "giay-chung-sinh.pdf", "mimeType": "application/pdf",
                                               "buffer": PDF}])
        page.fill("#reply", "Tôi gửi bản sao giấy chứng sinh.")
        with page.expect_navigation(url=f"**/me/dossiers/{birth.code}*"):
            page.click("#send-supplement")
        expect(page.locator("#status")).to_have_text(words["processing"])
        expect(page.locator("#supplement")).to_have_count(0)
        screenshot_both(page, f"citizen-supplement-sent-{lang}")
    finally:
        live_settings.clamd_address = previous
        ctx.close()
