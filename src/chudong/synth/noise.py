"""Realistic data-entry noise for agency records: the way names, dates and IDs go wrong."""

from __future__ import annotations

import random
import unicodedata

from chudong.kit.names import strip_diacritics

# Telex keys typed after a word when the input method was off: tone marks and vowel marks.
_TONE_KEYS = {"\u0301": "s", "\u0300": "f", "\u0309": "r", "\u0303": "x", "\u0323": "j"}
_VOWEL_KEYS = {"\u0302": None, "\u0306": "w", "\u031b": "w"}  # circumflex doubles the vowel


def telex(word: str) -> str:
    """Return ``word`` as typed in Telex without the input method (Nguyễn → Nguyeenx)."""
    out: list[str] = []
    tone = ""
    for ch in unicodedata.normalize("NFC", word):
        if ch in "đĐ":
            out.append("dd" if ch == "đ" else "DD")
            continue
        parts = unicodedata.normalize("NFD", ch)
        base, marks = parts[0], parts[1:]
        out.append(base)
        for m in marks:
            if m in _TONE_KEYS:
                tone = _TONE_KEYS[m]
            elif m in _VOWEL_KEYS:
                key = _VOWEL_KEYS[m]
                out.append(base.lower() if key is None else key)
    return "".join(out) + tone


def typo(rng: random.Random, word: str) -> str:
    """Return ``word`` with one keyboard slip: Telex leftovers, a dropped, doubled or swapped letter."""
    plain = strip_diacritics(word)
    if plain != word and rng.random() < 0.4:
        return telex(word)
    if len(word) < 3:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    r = rng.random()
    if r < 0.35:
        return word[:i] + word[i + 1:]
    if r < 0.7:
        return word[:i] + word[i] + word[i:]
    return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]


def mistype_pid(rng: random.Random, pid: str, serial_only: bool = False) -> str:
    """Return the ID number with one digit changed or two neighbouring digits swapped.

    With ``serial_only`` the slip stays in the six random digits, so the number is still
    structurally valid (the kind of error only linkage can catch).
    """
    digits = list(pid)
    first = 6 if serial_only else 0
    if rng.random() < 0.5:
        for _ in range(8):
            i = rng.randrange(first, len(digits) - 1)
            if digits[i] != digits[i + 1]:
                digits[i], digits[i + 1] = digits[i + 1], digits[i]
                return "".join(digits)
    i = rng.randrange(6, len(digits))
    digits[i] = str((int(digits[i]) + rng.randrange(1, 10)) % 10)
    return "".join(digits)
