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
    """Return the name in NFC, single-spaced, each word capitalised (family name first).

    Idempotent, also for letters whose capital is two letters (ß → Ss, ŉ → ʼn): only the first
    character of a word stays a capital.
    """
    nfc = unicodedata.normalize("NFC", text or "")
    words = _SPACES.sub(" ", nfc).strip().split(" ")
    return unicodedata.normalize("NFC", " ".join(_capitalised(w) for w in words if w))


def _capitalised(word: str) -> str:
    first = word[:1].title()
    return first[:1] + (first[1:] + word[1:]).lower()


def strip_diacritics(text: str) -> str:
    """Return ``text`` without Vietnamese diacritics (Đ→D, đ→d), in NFC."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if unicodedata.category(c) != "Mn"))


def name_key(text: str) -> str:
    """Return the comparison key: lower case, no diacritics, letters and single spaces only."""
    plain = strip_diacritics(unicodedata.normalize("NFC", text or "")).lower()
    plain = re.sub(r"[^a-z ]", " ", plain)
    return _SPACES.sub(" ", plain).strip()


# Vietnamese family names in name_key form (the most frequent ~60 cover > 99% of people).
# Used to put the family name back in front when an agency sent the given name first.
SURNAMES: frozenset[str] = frozenset(
    """nguyen tran le pham hoang huynh phan vu vo dang bui do ho ngo duong ly dinh doan
    truong trinh luong cao ta tang quach luu phung khuc mac ton diep dam nghiem lai kha
    hua bach banh trieu""".split()
)  # names that are also common given names (Mai, Hà, An, Lâm...) are left out on purpose

_DIGITS = re.compile(r"[0-9]")
_NON_LETTERS = re.compile(r"[^a-z]+")
_DOUBLE_D = re.compile(r"\bdd")
_TONE_ANYWHERE = re.compile(r"[fjz]")
_TONE_AFTER_LETTER = re.compile(r"([a-z])[sxr]+")
_HORN_BREVE = re.compile(r"([uoa])w")


def match_key(text: str) -> str:
    """Return the linkage key: ``name_key`` with Telex/VNI typing leftovers removed.

    VNI leaves digits (``Nguye64n``), Telex leaves letters (``Nguyeenx``, ``Ddawngj``,
    ``Trwowng``). Vietnamese syllables never contain f, j, z or w, never end in s, x or r,
    never double a, e, o or d, so those can be stripped without touching real names;
    ``tr`` at a word start is the one legitimate r after a letter.
    """
    plain = strip_diacritics(unicodedata.normalize("NFC", text or "")).lower()
    plain = _DIGITS.sub("", plain)
    plain = _SPACES.sub(" ", _NON_LETTERS.sub(" ", plain)).strip()
    plain = _DOUBLE_D.sub("d", plain)
    plain = _TONE_ANYWHERE.sub("", plain)
    # protect the "tr" onset with a placeholder (input is lower case, so "T" is free)
    plain = re.sub(r"\btr", "T", plain)
    plain = _TONE_AFTER_LETTER.sub(r"\1", plain).replace("T", "tr")
    plain = _HORN_BREVE.sub(r"\1", plain).replace("w", "u")
    plain = plain.replace("aa", "a").replace("ee", "e").replace("oo", "o")
    return _SPACES.sub(" ", plain).strip()


def family_first(key: str) -> str:
    """Rotate a key so a known family name leads ("lan nguyen thi" → "nguyen thi lan").

    Agencies using foreign forms send the given name first; if the first word is not a
    family name but a later one is, the words from that one on are moved to the front.
    """
    words = key.split(" ")
    if not words or words[0] in SURNAMES:
        return key
    for i, word in enumerate(words[1:], start=1):
        if word in SURNAMES:
            return " ".join(words[i:] + words[:i])
    return key


def linkage_key(text: str) -> str:
    """Return the canonical name used for record linkage: ``family_first(match_key(text))``."""
    return family_first(match_key(text))
