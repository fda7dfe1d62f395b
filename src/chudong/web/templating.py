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
