"""Each audience's main journey in a real browser (Debian chromium via Playwright).

The birth dossier walks the whole way: the leader reads the received count; the citizen
signs in with a one-time code, reads why she received the offer, names the child and
confirms; the leader sees the count go up; the officer finds the dossier in the queue with
its deadline badge, reads the sources of every field and approves; the citizen downloads
the result, rates the dossier and sees the officer in her access log; anyone can check the
result's QR address and look the dossier up with its code and the phone's last 4 digits.

The long journey runs at phone width (360×740); the public pages at phone and desktop.

Screenshots: every run saves a full-page screenshot of each main page at phone (360×740)
and desktop (1280×800) width to ``test-artifacts/screenshots/<page>-<phone|desktop>.png``
(git-ignored; CI can keep the folder as an artifact). Pages: home, signin, code, me,
dossier, dossier-result, staff-signin, queue, officer-dossier, leader, access-log,
settings, verify, track, overdue.

Run: ``.venv/bin/python -m pytest tests/browser -q``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from chudong.db import session_factory
from tests.browser.conftest import WHY_VI, citizen_signin, make_birth, screenshot, screenshot_both, staff_signin
from tests.portal.helpers import CITIZEN_VALUES

pytestmark = pytest.mark.browser

SETTLED_LABELS = ("Đã phê duyệt", "Đã có kết quả giải quyết", "Đã kết thúc")
DEADLINE_BADGES = ("Đúng hạn", "Sắp đến hạn", "Quá hạn")


def _dossier_status(engine, code: str) -> str:
    from chudong.dossiers import service as dossiers

    with session_factory(engine)() as s:
        return dossiers.get_by_code(s, code).status


def _received_with_children(engine, code: str) -> int:
    """Return how many dossiers the confirmation received: the dossier and its linked procedures."""
    from chudong.dossiers import service as dossiers

    with session_factory(engine)() as s:
        d = dossiers.get_by_code(s, code)
        return sum(1 for x in [d, *dossiers.children_of(s, d)] if x.received_on is not None)


def _verification_url(engine, base: str, secret: str, code: str) -> str:
    from chudong.dossiers import service as dossiers
    from chudong.dossiers.results import result_of, verification_url

    with session_factory(engine)() as s:
        result = result_of(s, dossiers.get_by_code(s, code))
        assert result is not None, "approval issued no result"
        return verification_url(base, secret, result)


def test_birth_dossier_from_offer_to_rating(new_page, live_server, live_settings, clean_db):
    base, birth = live_server, make_birth(clean_db)

    # the leader's received count before the citizen acts
    leader = new_page()
    staff_signin(leader, base, birth.leader, landing="/leader")
    before = int(leader.locator("#kpi-received").inner_text())

    # citizen: sign in with a one-time code, read why, name the child, confirm
    citizen = new_page()
    citizen.goto(base + "/")
    screenshot_both(citizen, "home")
    citizen_signin(citizen, base, clean_db, birth, shots=True)
    expect(citizen.locator("h1")).to_have_text(f"Xin chào {birth.mother_name}")
    offer = citizen.locator("article.notice", has_text=birth.code)
    expect(offer.locator(".why")).to_contain_text("Lý do bạn nhận được hồ sơ này")
    expect(offer.locator(".why")).to_contain_text(WHY_VI)
    screenshot_both(citizen, "me")
    with citizen.expect_navigation(url=f"**/me/dossiers/{birth.code}"):
        offer.get_by_role("link", name="Xem và xác nhận").click()
    expect(citizen.locator("#status")).to_have_text("Chờ bạn xác nhận")
    expect(citizen.locator(".why")).to_contain_text(WHY_VI)
    citizen.fill("#f_child_name", CITIZEN_VALUES["child_name"])
    citizen.check("#f_father_pid_has")
    citizen.fill("#f_father_pid", CITIZEN_VALUES["father_pid"])
    screenshot_both(citizen, "dossier")
    with citizen.expect_navigation(url=f"**/me/dossiers/{birth.code}/check"):
        citizen.click("#confirm")
    with citizen.expect_navigation(url=f"**/me/dossiers/{birth.code}/confirmed"):
        citizen.click("#send")
    citizen.goto(f"{base}/me/dossiers/{birth.code}")
    expect(citizen.locator("#status")).to_have_text("Đã xác nhận, chờ xử lý")
    expect(citizen.locator("dl.fields")).to_contain_text(CITIZEN_VALUES["child_name"])

    # leader: the count went up by the dossier and the linked procedures fanned out with it
    received = _received_with_children(clean_db, birth.code)
    assert received >= 1
    leader.reload()
    expect(leader.locator("#kpi-received")).to_have_text(str(before + received))
    screenshot_both(leader, "leader")

    # officer: the queue shows the dossier with a deadline badge; sources are visible; approve
    officer = new_page()
    staff_signin(officer, base, birth.officer, landing="/officer/queue", shots=True)
    row = officer.locator("tbody tr", has_text=birth.code)
    expect(row).to_have_count(1)
    assert row.locator(".badge").inner_text() in DEADLINE_BADGES
    screenshot_both(officer, "queue")
    with officer.expect_navigation(url=f"**/officer/dossiers/{birth.code}"):
        row.get_by_role("link").click()
    expect(officer.locator("main")).to_contain_text("Việc bạn mở hồ sơ này đã được ghi lại")
    facility = officer.locator("tbody tr", has_text="Bệnh viện Phụ sản")
    expect(facility.locator("td.src")).to_contain_text("HOSP-48")
    expect(facility.locator(".badge.ok")).to_have_text("đã xác thực")
    expect(officer.locator("tbody tr", has_text=CITIZEN_VALUES["child_name"])).to_have_count(1)
    screenshot_both(officer, "officer-dossier")
    with officer.expect_navigation(url=f"**/officer/dossiers/{birth.code}/approve"):
        officer.click("#approve")  # the mother has no household on record: the check step asks for a note
    officer.check("#checked")
    officer.fill("#note", "Đã đối chiếu giấy chứng sinh")
    with officer.expect_navigation(url=f"**/officer/dossiers/{birth.code}"):
        officer.click("#approve-confirmed")
    assert officer.locator("#status").inner_text() in SETTLED_LABELS
    assert _dossier_status(clean_db, birth.code) in ("approved", "result_issued", "closed")

    # citizen: the result is ready to download; rate the dossier
    citizen.reload()
    assert citizen.locator("#status").inner_text() in SETTLED_LABELS
    link = citizen.get_by_role("link", name="Tải kết quả giải quyết (PDF)")
    expect(link).to_be_visible()
    pdf = citizen.request.get(base + link.get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body()[:5] == b"%PDF-"
    screenshot_both(citizen, "dossier-result")
    citizen.select_option("#score", "4")
    citizen.fill("#comment", "Nhanh, không phải đi lại.")
    with citizen.expect_navigation(url=f"**/me/dossiers/{birth.code}"):
        citizen.click("#rate")
    expect(citizen.locator("main")).to_contain_text("Cảm ơn bạn đã đánh giá: 4/5.")
    expect(citizen.locator("#rate")).to_have_count(0)

    # citizen: the officer's read is in the access log; contact settings save
    citizen.goto(base + "/me/access")
    expect(citizen.locator("tbody tr", has_text=birth.code).first).to_contain_text("Cán bộ giải quyết hồ sơ")
    screenshot_both(citizen, "access-log")
    citizen.goto(base + "/me/settings")
    citizen.select_option("#first", "sms")
    with citizen.expect_navigation(url="**/me/settings?saved=1"):
        citizen.click('main form[action="/me/settings"] button[type=submit]')
    expect(citizen.get_by_role("status")).to_have_text("Đã lưu.")
    expect(citizen.locator("#first")).to_have_value("sms")
    screenshot_both(citizen, "settings")

    # anyone: the QR address says the result is genuine; a forged one does not
    public = new_page()
    url = _verification_url(clean_db, base, live_settings.secret_key, birth.code)
    response = public.goto(url)
    assert response is not None and response.status == 200
    expect(public.locator(".verdict")).to_have_text("Văn bản này là thật và còn hiệu lực.")
    expect(public.locator("dl")).to_contain_text(birth.code)
    screenshot_both(public, "verify")
    forged = public.goto(url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB"))
    assert forged is not None and forged.status == 404
    expect(public.locator(".verdict")).to_have_text("Mã này không khớp với văn bản nào do cơ quan nhà nước cấp.")

    # anyone: the public lookup shows the status, never the name
    public.goto(base + "/track")
    public.fill("#code", birth.code)
    public.fill("#phone_last4", birth.phone[-4:])
    with public.expect_navigation():
        public.click("main form button[type=submit]")
    assert public.locator("#status").inner_text() in SETTLED_LABELS
    assert birth.mother_name not in public.content()
    screenshot_both(public, "track")


def test_public_lookup_and_overdue_list(page, live_server, clean_db):
    base, birth = live_server, make_birth(clean_db, mother_name="Phạm Thị Hoa")
    from chudong.dossiers import service as dossiers

    with session_factory(clean_db)() as s:  # an overdue dossier in processing
        d = dossiers.get_by_code(s, birth.code)
        d.status, d.received_on, d.due_on = "in_processing", dt.date(2026, 10, 1), dt.date(2026, 10, 6)
        s.commit()

    page.goto(base + "/track")
    page.fill("#code", birth.code)
    wrong = "0000" if not birth.phone.endswith("0000") else "1111"
    page.fill("#phone_last4", wrong)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("Không có hồ sơ nào khớp với mã này và thông tin thứ hai này.")
    expect(page.locator("#status")).to_have_count(0)
    page.fill("#phone_last4", birth.phone[-4:])
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page.locator("#status")).to_have_text("Đang xử lý")
    assert birth.mother_name not in page.content()

    page.goto(base + "/overdue")
    expect(page.locator("h1")).to_have_text("Hồ sơ quá hạn")
    row = page.locator("tbody tr", has_text=birth.code[-2:])
    expect(row).to_have_count(1)
    html = page.content()
    assert birth.code not in html and birth.mother_name not in html  # anonymised
    screenshot(page, "overdue")
