"""Vietnamese personal names: normalise the forms agencies send.

The same name arrives with and without diacritics, in NFC or NFD, with Đ/đ, in
capitals, with stray spaces. ``display_name`` keeps diacritics (NFC, title case);
``name_key`` is the comparison key (lower case, no diacritics, đ→d, single spaces).
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def display_name(text: str) -> str:
    """Return the name in NFC, single-spaced, each word capitalised (family name first)."""
    nfc = unicodedata.normalize("NFC", text or "")
    words = _SPACES.sub(" ", nfc).strip().split(" ")
    return " ".join(w[:1].upper() + w[1:].lower() for w in words if w)


def strip_diacritics(text: str) -> str:
    """Return ``text`` without Vietnamese diacritics (Đ→D, đ→d), in NFC."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def name_key(text: str) -> str:
    """Return the comparison key: lower case, no diacritics, letters and single spaces only."""
    plain = strip_diacritics(unicodedata.normalize("NFC", text or "")).lower()
    plain = re.sub(r"[^a-z ]", " ", plain)
    return _SPACES.sub(" ", plain).strip()
