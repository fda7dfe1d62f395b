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
    return env


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
