"""Vietnamese personal names: normalise the forms agencies send.

The same name arrives with and without diacritics, in NFC or NFD, with Đ/đ, in
capitals, with stray spaces — and damaged by the sending system: UTF-8 read as cp1252
(``Nguyá»…n``, repaired with ``ftfy``), the Icelandic look-alike ``Ð``/``ð`` (U+00D0/U+00F0)
for Đ/đ, the passport's machine-readable form ``NGUYEN<<VAN<AN``, ``Nguyễn, Văn An`` with
a comma. ``repair_name`` undoes that damage; ``display_name`` keeps diacritics (NFC,
title case); ``name_key`` is the comparison key (lower case, no diacritics, đ→d, single
spaces); ``linkage_key`` also strips Telex/VNI left-overs and puts the family name first.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Two-character sequences that UTF-8 Vietnamese turns into when read as cp1252 / latin-1
# (lead bytes C3/C4/C5/C6/E1 followed by a continuation byte); plain Vietnamese never has them.
MOJIBAKE_HINT = re.compile("[ÃÄÅÆ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]|á[º»]")
_LOOKALIKE_D = str.maketrans({"Ð": "Đ", "ð": "đ"})  # U+00D0/U+00F0 → U+0110/U+0111
_MRZ_FILLER = re.compile(r"<+")


def repair_name(text: str) -> str:
    """Return the name with the damage of the sending system undone, in NFC.

    Mojibake is repaired with ``ftfy`` (only when a cp1252 signature is present, so clean
    names cost a regular-expression scan), ``Ð``/``ð`` become ``Đ``/``đ``, the passport
    fillers ``<`` and a comma between family and given names become spaces.
    """
    text = text or ""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
        if MOJIBAKE_HINT.search(text):
            import ftfy  # imported on first use: most names never need it

            text = unicodedata.normalize("NFC", ftfy.fix_text(text))
        if "Ð" in text or "ð" in text:
            text = text.translate(_LOOKALIKE_D)
    if "<" in text or "," in text:
        # a filler next to a combining mark may compose differently once it is a space
        text = unicodedata.normalize("NFC", _MRZ_FILLER.sub(" ", text).replace(",", " "))
    return text


def display_name(text: str) -> str:
    """Return the repaired name in NFC, single-spaced, each word capitalised (family name first).

    Idempotent, also for letters whose capital is two letters (ß → Ss, ŉ → ʼn): only the first
    character of a word stays a capital.
    """
    out = _title(repair_name(text))
    # capitals can complete a mojibake signature (ã + C1 → Ã + C1): repair until nothing changes
    for _ in range(3):
        if not MOJIBAKE_HINT.search(out):
            break
        again = _title(repair_name(out))
        if again == out:
            break
        out = again
    return out


def _title(text: str) -> str:
    words = _SPACES.sub(" ", text).strip().split(" ")
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
    plain = strip_diacritics(repair_name(text)).lower()
    plain = re.sub(r"[^a-z ]", " ", plain)
    return _SPACES.sub(" ", plain).strip()


# Vietnamese family names in name_key form (the most frequent ~60 cover > 99% of people).
# Used to put the family name back in front when an agency sent the given name first.
SURNAMES: frozenset[str] = frozenset(
    """nguyen tran le pham hoang huynh phan vu vo dang bui do ho ngo duong ly dinh doan
    truong trinh luong cao ta tang quach luu phung khuc mac ton diep dam nghiem lai kha
    hua bach banh trieu""".split()
)  # names that are also common given names (Mai, Hà, An, Lâm...) are left out on purpose
FAMILY_NAMES: frozenset[str] = SURNAMES | frozenset(
    """lam mai ha chau to dao thai khuu au kieu""".split()
)
"""Every word that may open a name as its family name: a name starting with one is never
rotated, so ``Lâm Hải Đăng`` does not become ``Đăng Lâm Hải`` because Đăng is also a family name."""

REGIONAL_VARIANTS: dict[str, str] = {"huynh": "hoang", "vo": "vu"}
"""Family names the South writes differently from the North (Huỳnh for Hoàng, Võ for Vũ,
after a 19th-century naming taboo): the same family, so a near match, not a disagreement."""

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
    plain = strip_diacritics(repair_name(text)).lower()
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

    Agencies using foreign forms send the given name first; if the first word cannot be a
    family name (``FAMILY_NAMES``) but a later one is a common family name (``SURNAMES``),
    the words from that one on are moved to the front.
    """
    words = key.split(" ")
    if not words or words[0] in FAMILY_NAMES:
        return key
    for i, word in enumerate(words[1:], start=1):
        if word in SURNAMES:
            return " ".join(words[i:] + words[:i])
    return key


def linkage_key(text: str) -> str:
    """Return the canonical name used for record linkage: ``family_first(match_key(text))``."""
    return family_first(match_key(text))


def regional_key(key: str) -> str:
    """Return a linkage key with the family name's regional spelling unified (Huỳnh → Hoàng)."""
    head, sep, rest = key.partition(" ")
    return REGIONAL_VARIANTS.get(head, head) + sep + rest


_PLACEHOLDER = re.compile(
    r"^(con (cua|ba|chi|me|sau sinh)\b|be (gai|trai)\b|tre so sinh\b|so sinh\b|chua (dat )?ten\b|khong ten\b)"
)
PLACEHOLDER_PATTERN = _PLACEHOLDER.pattern
"""The pattern (on ``match_key`` output) of a name that is not one: ``Con bà Nguyễn Thị Lan``."""


def is_placeholder_name(text: str) -> bool:
    """Return True for a newborn recorded without a name (``Con bà Lan``, ``Bé trai``, ``Sơ sinh``).

    Such a record names the mother, not the child: linkage must treat its name as unknown.
    """
    return bool(_PLACEHOLDER.match(match_key(text)))
