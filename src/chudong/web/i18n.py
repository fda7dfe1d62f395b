"""Translations: English message ids, Vietnamese first, loaded from each feature's ``.po`` files.

Each feature keeps its own catalogue at ``chudong/<feature>/i18n/<lang>.po`` (the
shell's at ``chudong/web/i18n/<lang>.po``), so features never edit a shared file.
Catalogues are compiled in memory at start-up: no build step.
"""

from __future__ import annotations

import contextvars
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

import chudong

LANGUAGES = ("vi", "en")
_lang: contextvars.ContextVar[str] = contextvars.ContextVar("chudong_lang", default="vi")


def _po_files(lang: str) -> list[Path]:
    root = Path(chudong.__file__).parent
    return sorted(root.glob(f"*/i18n/{lang}.po"))


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> NullTranslations:
    """Return the merged translations of every feature for ``lang``."""
    merged: NullTranslations = NullTranslations()
    for po in _po_files(lang):
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        part = Translations(buf)
        if isinstance(merged, Translations):
            merged.merge(part)
        else:
            merged = part
    return merged


def set_language(lang: str) -> contextvars.Token[str]:
    """Use ``lang`` for the current request or command."""
    return _lang.set(lang if lang in LANGUAGES else "vi")


def reset_language(token: contextvars.Token[str]) -> None:
    """Go back to the language in use before ``set_language`` returned ``token``."""
    _lang.reset(token)


def current_language() -> str:
    """Return the language of the current request or command."""
    return _lang.get()


def gettext(message: str) -> str:
    """Translate ``message`` into the current language."""
    return translations(_lang.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate with a plural form into the current language."""
    return translations(_lang.get()).ngettext(singular, plural, n)


_ = gettext


# Pydantic's error types → message ids (placeholders from the error's ``ctx``): a form that fails FastAPI's
# validation is answered in the page's language, never with the library's English.
PYDANTIC_MESSAGES = {
    "string_too_long": "Enter at most %(max_length)s characters.",
    "string_too_short": "Enter at least %(min_length)s characters.",
    "missing": "This answer is needed.",
    "int_parsing": "Enter a whole number.",
    "float_parsing": "Enter a number.",
    "bool_parsing": "Choose yes or no.",
    "date_from_datetime_parsing": "Enter a real date as day/month/year, for example 03/12/2026.",
    "date_parsing": "Enter a real date as day/month/year, for example 03/12/2026.",
    "greater_than_equal": "Enter a number of at least %(ge)s.",
    "less_than_equal": "Enter a number of at most %(le)s.",
    "greater_than": "Enter a number greater than %(gt)s.",
    "string_pattern_mismatch": "This answer is not in the expected form.",
}


def validation_messages(errors: list[dict]) -> dict[str, str]:
    """Map Pydantic's errors (``exc.errors()``) to {field: message in the current language}."""
    out: dict[str, str] = {}
    for e in errors:
        field = str(e["loc"][-1]) if e.get("loc") else ""
        template = PYDANTIC_MESSAGES.get(e.get("type", ""), "This answer is not valid.")
        out.setdefault(field, gettext(template) % dict(e.get("ctx") or {}))
    return out
