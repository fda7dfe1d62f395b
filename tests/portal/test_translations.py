"""Translations complete: every message id of every feature has a Vietnamese translation, and the citizen's
pages, rendered in Vietnamese along the real journeys, carry no English (library messages, raw codes)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import chudong
from chudong.dossiers import service as dossiers
from chudong.identity.principal import Principal
from chudong.portal.citizen import ACCESS_PURPOSES, ACCESS_ROLES, UPLOAD_REFUSALS
from chudong.web.i18n import PYDANTIC_MESSAGES as _PYDANTIC
from chudong.web.templating import SEX_LABELS

from .helpers import birth_case, citizen_signin, post, version_on

SRC = Path(chudong.__file__).parent
METHOD_MAP = [("**.html", "jinja2"), ("**.py", "python")]
OPTIONS_MAP = {"**.html": {"extensions": "jinja2.ext.i18n"}}
# whole English words that do not occur in Vietnamese text (checked on the visible text of <main>)
ENGLISH = re.compile(r"\b(the|and|is|are|must|should|not|required|please|your|with|from|processing|none|"
                     r"field|value|error|invalid|seconds|string|characters|dossier|person)\b", re.I)
RAW = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|person:\d+|officer:[\w.\-]+")


def _translated() -> set[str]:
    ids: set[str] = set()
    for po in SRC.glob("*/i18n/vi.po"):
        with po.open("rb") as fh:
            ids.update(m.id for m in read_po(fh, locale="vi") if m.id and m.string)
    return ids


def test_every_message_id_of_every_feature_has_a_vietnamese_translation():
    found: dict[str, str] = {}
    for feature in sorted(p for p in SRC.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for filename, lineno, message, _comments, _context in extract_from_dir(feature, METHOD_MAP, OPTIONS_MAP):
            for m in (message if isinstance(message, tuple) else (message,)):
                if m:
                    found.setdefault(m, f"{feature.name}/{filename}:{lineno}")
    # passed to _() through a variable: the extractor cannot see them
    for table in (_PYDANTIC, UPLOAD_REFUSALS, ACCESS_ROLES, ACCESS_PURPOSES, SEX_LABELS):
        for m in table.values():
            found.setdefault(m, "(table)")
    assert len(found) > 300
    missing = sorted(f"{where}: {m!r}" for m, where in found.items() if m not in _translated())
    assert missing == []


def _main_text(page: str) -> str:
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", main))
    return re.sub(r"\s+", " ", text)


def _assert_vietnamese(name: str, page: str) -> None:
    text = _main_text(page)
    english = sorted({m.group(0) for m in ENGLISH.finditer(text)})
    raw = sorted({m.group(0) for m in RAW.finditer(text)})
    assert (english, raw) == ([], []), f"{name}: {text[:600]}"


@pytest.fixture
def birth(session, clock):
    return birth_case(session)


def test_citizen_pages_rendered_in_vietnamese_carry_no_english(client, session, birth):
    code, mother = birth["code"], birth["mother"]
    client.cookies.set("lang", "vi")
    pages = {"signin": client.get("/signin").text, "no-contact": client.get("/signin/no-contact").text,
             "track": client.get("/track").text,
             "signin-error": post(client, "/signin", {"pid": "12"}).text,
             "track-errors": post(client, "/track", {"code": "", "birth_date": "31/02/2020"}).text}
    citizen_signin(client, session, mother)
    dossier = client.get(f"/me/dossiers/{code}").text
    pages.update({"me": client.get("/me").text, "dossier": dossier,
                  "inbox": client.get("/me/inbox").text, "settings": client.get("/me/settings").text})
    answers = {"version": version_on(dossier), "f_child_name": "Lê 2", "f_father_pid": "12",
               "f_father_pid_choice": "has"}
    pages["confirm-errors"] = post(client, f"/me/dossiers/{code}/check", answers, form_page=f"/me/dossiers/{code}").text
    answers.update(f_child_name="Lê An", f_father_pid_choice="none")
    pages["check-answers"] = post(client, f"/me/dossiers/{code}/check", answers, form_page=f"/me/dossiers/{code}").text
    r = post(client, f"/me/dossiers/{code}/confirm", answers, form_page=f"/me/dossiers/{code}")
    pages["confirmed"] = client.get(r.headers["location"]).text
    d = dossiers.get_by_code(session, code)
    session.refresh(d)
    o = birth["officer"]
    officer = Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                        agency=o.agency, role=o.role)
    dossiers.for_officer(session, officer, code, "processing")
    dossiers.request_supplement(session, d, officer, reason="Bản sao giấy chứng sinh", documents=[], version=d.version)
    session.commit()
    pages["supplement"] = client.get(f"/me/dossiers/{code}").text
    pages["access"] = client.get("/me/access").text
    for name, page in pages.items():
        _assert_vietnamese(name, page)
