"""One Jinja2 environment for every feature's templates, with translations and helpers."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

import chudong
from chudong.web import i18n


def _template_dirs() -> list[str]:
    root = Path(chudong.__file__).parent
    dirs = [root / "web" / "templates"]
    dirs += sorted(p for p in root.glob("*/templates") if p.parent.name != "web")
    return [str(d) for d in dirs]


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Return the shared template environment (autoescaped, i18n enabled).

    Templates compile once per process; only in development does every render check the
    files for edits (``auto_reload``), which costs a ``stat`` per template per page.
    """
    from chudong.config import get_settings

    env = Environment(
        loader=FileSystemLoader(_template_dirs()),
        autoescape=select_autoescape(["html", "xml", "svg"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=get_settings().env == "development",
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(long_date=long_date, sex_label=sex_label)
    return env


# Dates in words: "3 tháng 12 năm 2026" / "3 December 2026" (Babel's Vietnamese "long" has a comma).
DATE_PATTERNS = {"vi": "d 'tháng' M 'năm' y", "en": "d MMMM y"}


def long_date(value: object, lang: str | None = None) -> str:
    """Return a date (or ISO date text, or datetime) in words in the page's language; "" for nothing."""
    import datetime as dt

    from babel.dates import format_date

    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        return str(value)
    lang = lang or i18n.current_language()
    return format_date(value, DATE_PATTERNS.get(lang, DATE_PATTERNS["vi"]), locale=lang)


SEX_LABELS = {"F": "Female", "M": "Male"}


class HumanValues:
    """Field values in words for a page: dates, sex, wards and households by name, agencies by name.

    Built per request with the database session; names looked up once per page.
    """

    def __init__(self, session: object, fields: dict | None = None) -> None:
        self.session = session
        self._cache: dict[tuple[str, str], str] = {}
        if fields:
            self.prefetch(fields)

    def prefetch(self, fields: dict) -> None:
        """Look up, in one query, the names behind the codes of a dossier's fields (agencies, wards, households)."""
        from sqlalchemy import String, cast, literal, select, union_all

        from chudong.geo.models import Ward
        from chudong.registry.models import Agency, Household

        agencies = {str(f.get("agency")) for f in fields.values() if f.get("agency")}
        wards = {int(f["value"]) for n, f in fields.items() if (n.endswith("_ward") or n == "ward_code")
                 and str(f.get("value") or "").isdigit()}
        households = {int(f["value"]) for n, f in fields.items() if n == "household"
                      and str(f.get("value") or "").isdigit()}
        parts = []
        if agencies:
            parts.append(select(literal("agency"), Agency.code, Agency.name).where(Agency.code.in_(agencies)))
        if wards:
            parts.append(select(literal("ward"), cast(Ward.code, String), Ward.name).where(Ward.code.in_(wards)))
        if households:
            parts.append(select(literal("household"), cast(Household.id, String), Household.code)
                         .where(Household.id.in_(households)))
        if parts:
            for kind, key, name in self.session.execute(union_all(*parts)).all():
                self._cache[(kind, str(key))] = name

    def agency(self, code: str | None) -> str:
        """Return the name of a data source agency (its code when unknown)."""
        from chudong.registry.models import Agency

        return self._name("agency", code or "", lambda c: getattr(self.session.get(Agency, c), "name", None))

    def value(self, name: str, value: object) -> str:
        """Return a dossier field's value as a person reads it."""
        from chudong.geo.models import Ward
        from chudong.registry.models import Household

        if value is None or str(value).strip() == "":
            return ""
        text = str(value).strip()
        if name.endswith("sex"):
            return sex_label(text)
        if (name.endswith("_ward") or name == "ward_code") and text.isdigit():
            return self._name("ward", text, lambda c: getattr(self.session.get(Ward, int(c)), "name", None))
        if name == "household" and text.isdigit():
            code = self._name("household", text, lambda c: getattr(self.session.get(Household, int(c)), "code", None))
            return i18n.gettext("Household %(code)s") % {"code": code}
        if name.endswith(("_date", "_on")) or (len(text) == 10 and text[4:5] == "-" and text[7:8] == "-"):
            return long_date(text)
        from chudong.dossiers.service import NOT_ON_RECORD

        if text in NOT_ON_RECORD:
            return i18n.gettext(("None", "Not yet")[NOT_ON_RECORD.index(text)])
        return text

    def officer(self, label: str | None) -> str:
        """Return who signed or acted: "officer:<username>" as the officer's name and unit, else the label."""
        from sqlalchemy import select

        from chudong.dossiers.models import Officer, Unit

        kind, _sep, username = (label or "").partition(":")
        if kind != "officer":
            return label or ""

        def find(name: str) -> str | None:
            row = self.session.execute(select(Officer.full_name, Unit.name).join(Unit, Unit.code == Officer.unit_code,
                                                                                 isouter=True)
                                       .where(Officer.username == name)).first()
            return (f"{row[0]}, {row[1]}" if row[1] else row[0]) if row else None

        return self._name("officer", username, find)

    def _name(self, kind: str, key: str, find) -> str:
        if (kind, key) not in self._cache:
            self._cache[(kind, key)] = find(key) or key
        return self._cache[(kind, key)]


def sex_label(value: object) -> str:
    """Return a sex code (F/M) as a word in the page's language."""
    text = str(value or "")
    return i18n.gettext(SEX_LABELS[text]) if text in SEX_LABELS else text


def compile_all() -> int:
    """Compile every template now (a web worker does it at start, not on its first pages); return how many."""
    env = environment()
    names = env.list_templates(extensions=["html"])
    for name in names:
        env.get_template(name)
    return len(names)


def render(request: Request, template: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """Render ``template`` for ``request`` with the layout's common context."""
    ctx = {
        "request": request,
        "lang": i18n.current_language(),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "user": getattr(request.state, "user", None),
        **context,
    }
    html = environment().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)
