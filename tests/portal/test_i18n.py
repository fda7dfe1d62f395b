"""The portal's Vietnamese catalogue covers every message the portal shows, placeholders intact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

import chudong
from chudong.app import ERROR_TITLES
from chudong.portal.pages import DEADLINE_BADGES, STATUS_LABELS

SRC = Path(chudong.__file__).parent
METHOD_MAP = [("**.html", "jinja2"), ("**.py", "python")]
OPTIONS_MAP = {"**.html": {"extensions": "jinja2.ext.i18n"}}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalog(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale="vi")


def _portal_msgids() -> set[str]:
    """Return every message id the portal can show: extracted calls plus labels translated at run time."""
    found: set[str] = set()
    for folder in (SRC / "portal", SRC / "web" / "templates"):
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            folder, METHOD_MAP, OPTIONS_MAP
        ):
            found.update(m for m in (message if isinstance(message, tuple) else (message,)) if m)
    for _lineno, message, _comments, _context in extract_from_file("python", SRC / "app.py"):
        found.add(message)
    # These are passed to _() through a variable, so the extractor cannot see them.
    found.update(ERROR_TITLES.values())
    found.update(STATUS_LABELS.values())
    found.update(label for _css, label in DEADLINE_BADGES.values())
    return found


@pytest.fixture(scope="module")
def portal_vi() -> Catalog:
    """The portal's Vietnamese catalogue."""
    return _catalog(SRC / "portal" / "i18n" / "vi.po")


def test_every_portal_message_has_a_vietnamese_translation(portal_vi: Catalog) -> None:
    """Check that each extracted msgid is translated in Vietnamese (by the portal's or another catalogue)."""
    translated = {m.id for m in portal_vi if m.id and m.string}
    # The app merges every feature's catalogue; the shell's (and a feature's own strings added
    # to portal pages) may live elsewhere.
    for po in SRC.glob("*/i18n/vi.po"):
        translated.update(m.id for m in _catalog(po) if m.id and m.string)
    msgids = _portal_msgids()
    assert len(msgids) > 150  # the extraction really ran over the templates
    assert sorted(msgids - translated) == []


def test_portal_catalogue_does_not_repeat_the_shell_catalogue(portal_vi: Catalog) -> None:
    """Check that each msgid has one source: the shell's catalogue or the portal's, not both."""
    shell_vi = _catalog(SRC / "web" / "i18n" / "vi.po")
    assert sorted(m.id for m in portal_vi if m.id and m.id in shell_vi) == []


def test_placeholders_survive_translation(portal_vi: Catalog) -> None:
    """Check that every msgstr keeps its msgid's %(name)s placeholders and formats cleanly."""
    entries = [m for m in portal_vi if m.id]
    assert entries
    for m in entries:
        assert m.string, m.id
        assert sorted(PLACEHOLDER.findall(m.string)) == sorted(PLACEHOLDER.findall(m.id)), m.id
        # Jinja2 newstyle gettext %-formats every message, so a stray % would crash the page.
        m.string % dict.fromkeys(PLACEHOLDER.findall(m.id), "x")


def test_signin_page_is_vietnamese_by_default(client) -> None:
    """Check that /signin renders the Vietnamese labels, not the English msgids."""
    client.cookies.set("lang", "vi")
    resp = client.get("/signin")
    assert resp.status_code == 200
    assert "Đăng nhập" in resp.text
    assert "Số định danh cá nhân (12 chữ số)" in resp.text
    assert "Personal ID number (12 digits)" not in resp.text


def test_signin_page_stays_english_when_chosen(client) -> None:
    """Check that choosing English shows the msgids unchanged."""
    client.cookies.set("lang", "en")
    resp = client.get("/signin")
    assert resp.status_code == 200
    assert "Personal ID number (12 digits)" in resp.text
    assert "Đăng nhập công dân" not in resp.text


def test_domain_error_on_a_page_is_translated(client) -> None:
    """Check that a constant domain error (a form without its CSRF token) shows in Vietnamese."""
    client.cookies.set("lang", "vi")
    resp = client.post("/signin", data={"pid": "001090000001"}, headers={"accept": "text/html"})
    assert resp.status_code == 403
    assert "Biểu mẫu đã hết hạn hoặc không được gửi từ trang này" in resp.text
    assert "the form has expired" not in resp.text
