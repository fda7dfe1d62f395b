"""The last mile for citizens: a notice's link lands on its dossier after sign-in; no contact, no dead end;
tracking by code and date of birth; sign-in and tracking errors in the page's language."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from sqlalchemy import select

from chudong.notifications.models import Notification
from tests.dossiers import builders as b

from .helpers import birth_case, citizen_signin, last_code, post


@pytest.fixture
def birth(session, clock):
    return birth_case(session)


def test_notice_link_signs_the_citizen_in_to_that_dossier(client, session, birth):
    mother, code = birth["mother"], birth["code"]
    n = session.scalar(select(Notification).where(Notification.event_key == f"dossier:{code}"))
    link = re.search(r"https?://\S+/d/[\w.\-]+", n.rendered["inbox"]["body"]).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    r = client.get("/" + path, headers={"accept": "text/html"}, follow_redirects=False)
    target = f"/me/dossiers/{code}"
    assert r.status_code == 303 and r.headers["location"] == f"/signin?next={quote(target, safe='')}"
    form = client.get(r.headers["location"], headers={"accept": "text/html"})
    assert f'name="next" value="{target}"' in form.text
    r = post(client, "/signin", {"pid": mother.pid, "next": target})
    assert r.status_code == 200 and f'name="next" value="{target}"' in r.text
    r = post(client, "/signin/code", {"pid": mother.pid, "code": last_code(session, mother.id), "next": target},
             form_page="/signin")
    assert r.status_code == 303 and r.headers["location"] == target
    # signed in, the same link goes straight to the dossier
    r = client.get("/" + path, headers={"accept": "text/html"}, follow_redirects=False)
    assert r.headers["location"] == target


@pytest.mark.parametrize("target", ["https://evil.example/me", "//evil.example", "/staff/signin", "/me/../leader"])
def test_sign_in_only_lands_on_citizen_pages(client, session, birth, target):
    mother = birth["mother"]
    post(client, "/signin", {"pid": mother.pid, "next": target})
    r = post(client, "/signin/code", {"pid": mother.pid, "code": last_code(session, mother.id), "next": target},
             form_page="/signin")
    assert r.status_code == 303 and r.headers["location"] == "/me"


def test_citizen_without_a_contact_sees_the_same_page_and_a_way_forward(client, session, birth):
    nobody = b.person(session, full_name="Hà Văn Tư", ward_index=1)
    nobody.phone = None
    session.commit()
    no_contact = post(client, "/signin", {"pid": nobody.pid})
    unknown = post(client, "/signin", {"pid": "048199999999"})
    assert no_contact.status_code == unknown.status_code == 200
    strip = re.compile(r'name="(csrf_token|pid)" value="[^"]*"')
    assert strip.sub("", no_contact.text) == strip.sub("", unknown.text)  # no hint whether the ID exists
    assert "person:" not in no_contact.text and "contact" not in no_contact.text.replace("no-contact", "")
    assert 'href="/signin/no-contact"' in no_contact.text
    help_page = client.get("/signin/no-contact", headers={"accept": "text/html"})
    assert help_page.status_code == 200 and "bộ phận một cửa" in help_page.text and 'href="/track"' in help_page.text


def test_invalid_pid_is_explained_in_the_page_language(client, birth):
    r = post(client, "/signin", {"pid": "123"})
    assert r.status_code == 422 and "Số định danh cá nhân gồm đúng 12 chữ số." in r.text
    assert "must be" not in r.text and 'aria-invalid="true"' in r.text and 'href="#pid"' in r.text
    assert 'value="123"' in r.text  # what was typed is kept
    client.cookies.set("lang", "en")
    r = post(client, "/signin", {"pid": "999012345678"})
    assert "The first 3 digits of a personal ID number are a province code; 999 is not one." in r.text


def test_tracking_by_code_and_date_of_birth(client, session, birth):
    mother, code = birth["mother"], birth["code"]
    wrong = post(client, "/track", {"code": code, "birth_date": "01/01/1990"})
    assert wrong.status_code == 404 and 'id="status"' not in wrong.text
    r = post(client, "/track", {"code": code, "birth_date": mother.birth_date.strftime("%d/%m/%Y")})
    assert r.status_code == 200 and 'id="status"' in r.text and mother.full_name not in r.text


def test_tracking_form_errors_are_listed_and_kept(client, birth):
    r = post(client, "/track", {"code": "", "birth_date": "31/02/2020"})
    assert r.status_code == 422
    assert 'href="#code"' in r.text and 'href="#birth_date"' in r.text
    assert "Nhập một ngày có thật theo dạng ngày/tháng/năm" in r.text and 'value="31/02/2020"' in r.text


def test_data_tracker_shows_one_row_per_access_in_words(client, session, birth):
    from chudong.dossiers import service as dossiers
    from chudong.dossiers.models import Unit
    from chudong.identity.principal import Principal

    o = birth["officer"]
    officer = Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                        agency=o.agency, role=o.role)
    for _ in range(7):  # seven page loads of the same dossier the same day
        dossiers.for_officer(session, officer, birth["code"], "processing")
    session.commit()
    citizen_signin(client, session, birth["mother"])
    page = client.get("/me/access")
    rows = re.findall(r"<tr><td>", page.text.split('id="accesses"')[1])
    assert len(rows) == 1
    unit = session.get(Unit, o.unit_code)
    assert unit.name in page.text and "Để giải quyết hồ sơ của Ông/Bà" in page.text
    assert "Cán bộ giải quyết hồ sơ" in page.text and re.search(r"\d{1,2} tháng 11 năm 2026", page.text)
    assert "processing" not in page.text and o.unit_code not in page.text


def test_dossier_page_shows_values_in_words(client, session, birth):
    from chudong.dossiers import service as dossiers
    from chudong.geo.models import Ward

    d = dossiers.get_by_code(session, birth["code"])
    citizen_signin(client, session, birth["mother"])
    page = client.get(f"/me/dossiers/{d.code}").text
    fields = page.split('<dl class="fields">')[1].split("</dl>")[0]
    assert not re.search(r"\d{4}-\d{2}-\d{2}", fields)  # no ISO dates
    assert re.search(r"\d{1,2} tháng \d{1,2} năm \d{4}", fields) and "Nữ" in fields
    ward = session.get(Ward, int(d.fields["mother_ward"]["value"]))
    assert ward.name in fields and f">{ward.code}<" not in fields
    assert "bản ghi" not in fields  # internal record ids stay internal


def test_result_document_prints_values_in_words_and_the_signer_by_name(session, birth):
    from chudong.dossiers import service as dossiers
    from chudong.dossiers.results import render_result_html, result_of
    from chudong.identity.principal import Principal
    from chudong.web import i18n

    d = dossiers.get_by_code(session, birth["code"])
    dossiers.confirm(session, d, Principal.citizen(birth["mother"].id),
                     supplied={"child_name": "Lê An", "father_pid": "Không có"}, linked=[], version=d.version)
    o = birth["officer"]
    officer = Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                        agency=o.agency, role=o.role)
    dossiers.claim(session, d, officer, version=d.version)
    dossiers.approve(session, d, officer, version=d.version)
    result = result_of(session, d)
    token = i18n.set_language("en")  # the reader's page language does not change the official document
    try:
        html = render_result_html(d, result, "https://x/verify", session)
    finally:
        i18n.reset_language(token)
    body = html.split("<table>")[1]
    assert "officer:" not in html and o.full_name in html
    assert not re.search(r"\d{4}-\d{2}-\d{2}", body) and re.search(r"\d{1,2} tháng \d{1,2} năm \d{4}", body)
    assert "Nữ" in body and "Female" not in body
