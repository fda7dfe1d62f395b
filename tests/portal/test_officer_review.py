"""The officer's confirm step: invalid fields block approval, disputed or missing ones need a note; overdue page."""

from __future__ import annotations

import datetime as dt

import pytest

from chudong.dossiers import service as dossiers
from chudong.identity.principal import Principal

from .helpers import birth_case, post, staff_signin, version_on


@pytest.fixture
def confirmed(session, clock):
    """A birth dossier the mother confirmed, taken into processing by the commune's officer."""
    case = birth_case(session)
    d = dossiers.get_by_code(session, case["code"])
    dossiers.confirm(session, d, Principal.citizen(case["mother"].id),
                     supplied={"child_name": "Lê Minh An", "father_pid": "048090001234"}, linked=None,
                     version=d.version)
    session.commit()
    return case


def _set_field(session, code: str, name: str, **values) -> None:
    d = dossiers.get_by_code(session, code)
    fields = {k: dict(v) for k, v in d.fields.items()}
    fields[name].update(values)
    d.fields = fields
    session.commit()


def test_invalid_father_id_cannot_be_approved(client, session, confirmed):
    code = confirmed["code"]
    _set_field(session, code, "father_pid", value="123")
    staff_signin(client, "lan.cb")
    view = client.get(f"/officer/dossiers/{code}")
    assert 'id="concerns"' in view.text and "số định danh cá nhân phải gồm đúng 12 chữ số" in view.text
    assert f'href="/officer/dossiers/{code}/approve"' in view.text  # approval goes through the check page
    check = client.get(f"/officer/dossiers/{code}/approve")
    assert 'id="cannot-approve"' in check.text and 'id="approve-confirmed"' not in check.text
    r = post(client, f"/officer/dossiers/{code}/approve", {"version": version_on(view.text), "checked": "yes",
                                                            "note": "đã xem giấy tờ"}, form_page=f"/officer/dossiers/{code}")
    assert r.status_code == 422 and "Không thể phê duyệt" in r.text
    session.expire_all()
    assert dossiers.get_by_code(session, code).status == "confirmed"
    # the officer takes it into processing; the check page then offers a supplement request naming the field
    post(client, f"/officer/dossiers/{code}/claim", {"version": version_on(view.text)}, form_page=f"/officer/dossiers/{code}")
    check = client.get(f"/officer/dossiers/{code}/approve")
    assert 'id="ask-supplement"' in check.text and "Số định danh cá nhân của người cha" in check.text


def test_disputed_field_needs_the_officers_note(client, session, confirmed):
    code = confirmed["code"]
    _set_field(session, code, "mother_name", correction={"value": "Nguyễn Thị Lạn", "issue_id": 1})
    staff_signin(client, "lan.cb")
    view = client.get(f"/officer/dossiers/{code}")
    assert "người dân cho biết: Nguyễn Thị Lạn" in view.text
    r = post(client, f"/officer/dossiers/{code}/approve", {"version": version_on(view.text)},
             form_page=f"/officer/dossiers/{code}")
    assert r.status_code == 422 and 'name="checked"' in r.text
    session.expire_all()
    assert dossiers.get_by_code(session, code).status == "confirmed"
    r = post(client, f"/officer/dossiers/{code}/approve",
             {"version": version_on(view.text), "checked": "yes", "note": "Đối chiếu giấy chứng sinh: đúng"},
             form_page=f"/officer/dossiers/{code}")
    assert r.status_code == 303, r.text
    session.expire_all()
    assert dossiers.get_by_code(session, code).status in ("approved", "result_issued", "closed")
    done = client.get(f"/officer/dossiers/{code}")
    assert f'href="/officer/dossiers/{code}/result.pdf"' in done.text
    officer = confirmed["officer"]
    assert "officer:lan.cb" not in done.text and officer.full_name in done.text  # the signer by name and unit
    pdf = client.get(f"/officer/dossiers/{code}/result.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_clean_dossier_approves_in_one_click_and_shows_names(client, session, confirmed):
    code = confirmed["code"]
    d = dossiers.get_by_code(session, code)
    for name, f in d.fields.items():  # the builders' mother has no household: give every empty field a value
        if not f.get("value"):
            _set_field(session, code, name, value="7")
    staff_signin(client, "lan.cb")
    view = client.get(f"/officer/dossiers/{code}")
    assert 'id="concerns"' not in view.text and 'action="/officer/dossiers/' + code + '/approve"' in view.text
    assert "tháng" in view.text and "năm 20" in view.text  # dates in words
    en = client.get(f"/officer/dossiers/{code}?lang=en")
    assert "Father&#39;s personal ID" in en.text and "Father pid" not in en.text


def test_bulk_approve_is_offered_only_for_eligible_dossiers(client, session, confirmed):
    staff_signin(client, "lan.cb")
    queue = client.get("/officer/queue")
    assert confirmed["code"] in queue.text  # it has citizen-given fields: not eligible for one click
    assert 'id="bulk-approve"' not in queue.text and 'name="codes"' not in queue.text
    r = post(client, "/officer/bulk-approve", {"codes": [confirmed["code"]]}, form_page="/officer/queue")
    assert r.status_code in (303, 422)
    session.expire_all()


def test_overdue_page_lists_late_dossiers(client, session, confirmed, clock):
    code = confirmed["code"]
    d = dossiers.get_by_code(session, code)
    d.due_on = dt.date(2026, 10, 20)
    session.commit()
    staff_signin(client, "lan.cb")
    page = client.get("/officer/overdue")
    assert page.status_code == 200 and code in page.text and "20 tháng 10 năm 2026" in page.text
    assert '<span class="badge bad">13</span>' in page.text  # 2 November − 20 October


def test_steward_page_is_in_words(client, session, clock):
    from chudong.kit import clock as k
    from chudong.registry.models import QualityIssue
    from tests.dossiers import builders as db

    from .helpers import staff_account

    db.units(session)
    db.agency(session, "POP-48")
    session.add(QualityIssue(kind="conflict", field="birth_date", value_a="1990-05-02", value_b="1990-05-03",
                             agency_code="POP-48", status="open", detail="birth dates differ", created_at=k.now()))
    staff_account(session, "dulieu", "data_steward", agency="POP-48")
    session.commit()
    staff_signin(client, "dulieu")
    r = client.get("/steward/quality")
    assert r.status_code == 200
    main = r.text[r.text.index("<main"):]
    assert "Dữ liệu giữa các cơ quan không khớp" in main and "Ngày, tháng, năm sinh" in main
    assert "2 tháng 5 năm 1990" in main and "2 tháng 11 năm 2026" in main
    assert ">conflict<" not in main and "birth_date" not in main and "1990-05-02" not in main


def test_officer_sees_and_downloads_the_citizens_file(client, session, confirmed, settings):
    from chudong.dossiers.uploads import add_upload, upload_directory

    code = confirmed["code"]
    d = dossiers.get_by_code(session, code)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    att = add_upload(session, d, Principal.citizen(confirmed["mother"].id), kind="supplement",
                     filename="giay-chung-sinh.pdf", content=pdf, directory=upload_directory(settings.data_dir),
                     scanner=None)
    session.commit()
    staff_signin(client, "lan.cb")
    view = client.get(f"/officer/dossiers/{code}")
    link = f"/officer/dossiers/{code}/attachments/{att.id}"
    assert 'id="attachments"' in view.text and "giay-chung-sinh.pdf" in view.text and link in view.text
    got = client.get(link)
    assert got.status_code == 200 and got.content == pdf and got.headers["content-type"] == "application/pdf"
    assert client.get(f"/officer/dossiers/{code}/attachments/{att.id + 999}",
                      headers={"accept": "text/html"}).status_code == 404
