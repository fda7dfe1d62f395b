"""The citizen's confirm journey (errors listed and kept, check your answers, confirmation page) and the
answer to a supplement request (documents checked by content, a reply, the clock restarts)."""

from __future__ import annotations

import re

import pytest

from chudong.adapters.scan.fake import EICAR
from chudong.dossiers import service as dossiers
from chudong.dossiers.models import DossierAttachment
from chudong.identity.principal import Principal
from tests.adapters.clamd_server import clamd_address  # noqa: F401  (fixture)

from .helpers import birth_case, citizen_signin, post, version_on

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


@pytest.fixture
def birth(session, clock):
    return birth_case(session)


def _form(html: str, **answers) -> dict:
    return {"version": version_on(html), "linked": ["permanent-residence"], **answers}


def test_errors_are_listed_inline_and_what_was_typed_is_kept(client, session, birth):
    code = birth["code"]
    citizen_signin(client, session, birth["mother"])
    page = client.get(f"/me/dossiers/{code}").text
    r = post(client, f"/me/dossiers/{code}/check",
             _form(page, f_child_name="", f_father_pid="123", f_father_pid_choice="has"), form_page=f"/me/dossiers/{code}")
    assert r.status_code == 422
    summary = re.search(r'<div class="error-summary".*?</div>', r.text, re.S).group(0)
    assert 'href="#f_child_name"' in summary and 'href="#f_father_pid"' in summary
    assert "Số định danh cá nhân gồm đúng 12 chữ số." in r.text and "Cần điền thông tin này." in r.text
    assert 'value="123"' in r.text and "must" not in r.text and "should" not in r.text
    client.cookies.set("lang", "en")
    r = post(client, f"/me/dossiers/{code}/check", _form(page, f_child_name="Lê An", f_father_pid_choice=""),
             form_page=f"/me/dossiers/{code}")
    assert r.status_code == 422 and "Choose one answer." in r.text and 'value="Lê An"' in r.text


def test_check_answers_then_confirmation_page_with_code_and_next_steps(client, session, birth):
    code = birth["code"]
    citizen_signin(client, session, birth["mother"])
    page = client.get(f"/me/dossiers/{code}").text
    answers = _form(page, f_child_name="Lê Minh An", f_father_pid="", f_father_pid_choice="none")
    check = post(client, f"/me/dossiers/{code}/check", answers, form_page=f"/me/dossiers/{code}")
    assert check.status_code == 200 and 'id="check-answers"' in check.text
    assert "Lê Minh An" in check.text and "Không có" in check.text and 'id="send"' in check.text
    change = post(client, f"/me/dossiers/{code}/check", {**answers, "change": "1"}, form_page=f"/me/dossiers/{code}")
    assert change.status_code == 200 and 'value="Lê Minh An"' in change.text and 'id="f_father_pid_none" checked' in change.text
    r = post(client, f"/me/dossiers/{code}/confirm", answers, form_page=f"/me/dossiers/{code}")
    assert r.status_code == 303 and r.headers["location"] == f"/me/dossiers/{code}/confirmed"
    done = client.get(r.headers["location"])
    assert done.status_code == 200 and code in done.text and "Các bước tiếp theo" in done.text
    assert re.search(r"Hạn trả kết quả: \d{1,2} tháng \d{1,2} năm \d{4}", done.text)
    session.expire_all()
    d = dossiers.get_by_code(session, code)
    assert d.status == "confirmed" and d.fields["father_pid"]["value"] == "Không có"


def _supplement_requested(session, birth) -> None:
    d = dossiers.get_by_code(session, birth["code"])
    mother = Principal.citizen(birth["mother"].id)
    dossiers.confirm(session, d, mother, supplied={"child_name": "Lê An", "father_pid": "Không có"}, linked=[],
                     version=d.version)
    o = birth["officer"]
    officer = Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                        agency=o.agency, role=o.role)
    dossiers.request_supplement(session, d, officer, reason="Bản sao giấy chứng sinh rõ nét",
                                documents=["Giấy chứng sinh"], version=d.version)
    session.commit()


def test_citizen_answers_a_supplement_request_with_a_document(client, session, birth, settings, clamd_address):  # noqa: F811
    settings.clamd_address = clamd_address
    _supplement_requested(session, birth)
    code = birth["code"]
    citizen_signin(client, session, birth["mother"])
    page = client.get(f"/me/dossiers/{code}")
    assert 'id="supplement"' in page.text and "Bản sao giấy chứng sinh rõ nét" in page.text
    assert re.search(r"Hạn bổ sung:</b> \d{1,2} tháng \d{1,2} năm \d{4}", page.text)
    token = re.search(r'action="/me/dossiers/[^"]+/supplement".*?name="csrf_token" value="([^"]+)"', page.text, re.S).group(1)

    def send(files, reply=""):
        return client.post(f"/me/dossiers/{code}/supplement", files=files,
                           data={"csrf_token": token, "version": version_on(page.text), "reply": reply},
                           headers={"accept": "text/html"}, follow_redirects=False)

    bad = send([("files", ("giay-chung-sinh.pdf", b"just text, renamed", "application/pdf"))])
    assert bad.status_code == 422 and "giay-chung-sinh.pdf không phải tệp PDF, JPEG hoặc PNG" in bad.text
    infected = send([("files", ("scan.pdf", PDF + EICAR, "application/pdf"))])
    assert infected.status_code == 422 and "phát hiện mã độc" in infected.text
    session.expire_all()
    assert session.query(DossierAttachment).count() == 0
    ok = send([("files", ("giay-chung-sinh.pdf", PDF, "application/octet-stream"))], reply="Tôi gửi bản sao.")
    assert ok.status_code == 303
    session.expire_all()
    d = dossiers.get_by_code(session, code)
    att = session.query(DossierAttachment).one()
    assert d.status == "in_processing" and att.media_type == "application/pdf" and att.content == b""
    assert (settings.data_dir / "uploads" / att.sha256[:2] / att.sha256).read_bytes() == PDF


def test_a_form_refused_by_validation_is_answered_in_vietnamese(client, session, birth):
    citizen_signin(client, session, birth["mother"])
    r = post(client, f"/me/dossiers/{birth['code']}/rate", {"score": "9", "comment": "x" * 2001},
             form_page=f"/me/dossiers/{birth['code']}")
    assert r.status_code == 422
    assert "Nhập tối đa 2000 ký tự." in r.text or "Nhập một số không lớn hơn 5." in r.text
    assert "should" not in r.text and "String" not in r.text


def test_design_drawings_are_a_file_not_a_text_box(client, session, clock):
    from tests.dossiers import builders as b

    b.units(session)
    owner = b.person(session, full_name="Trần Văn Nam")
    plan = b.building_plan(session, owner)
    ev = b.life_event(session, "house-building-bundle", person=owner, plan=plan, subject_kind="building_plan")
    code = dossiers.open_dossiers(session, [ev.id]).codes[0]
    session.commit()
    citizen_signin(client, session, owner)
    page = client.get(f"/me/dossiers/{code}").text
    assert 'type="file" id="f_design_drawings"' in page
    token = re.search(r'action="/me/dossiers/[^"]+/check".*?name="csrf_token" value="([^"]+)"', page, re.S).group(1)

    def check(content: bytes, **data):
        return client.post(f"/me/dossiers/{code}/check", headers={"accept": "text/html"}, follow_redirects=False,
                           data={"csrf_token": token, "version": version_on(page), **data},
                           files=[("f_design_drawings_file", ("ban-ve.pdf", content, "application/pdf"))])

    typed_two = check(b"2", f_design_drawings="2")  # the old text box's "2" is not a drawing
    assert typed_two.status_code == 422 and "ban-ve.pdf không phải tệp PDF, JPEG hoặc PNG" in typed_two.text
    ok = check(PDF)
    assert ok.status_code == 200 and 'id="check-answers"' in ok.text and "ban-ve.pdf" in ok.text
    attached = re.search(r'name="f_design_drawings" value="(attachment:\d+)"', ok.text).group(1)
    r = post(client, f"/me/dossiers/{code}/confirm", {"version": version_on(ok.text), "f_design_drawings": attached},
             form_page=f"/me/dossiers/{code}")
    assert r.status_code == 303
    session.expire_all()
    assert dossiers.get_by_code(session, code).fields["design_drawings"]["value"] == "ban-ve.pdf"
