"""Personal ID number (CCCD, *số định danh cá nhân*): structural validation.

Twelve digits: a 3-digit province code of birth registration (the codes of the 63
provinces before the 2025 merger; the 34 current provinces kept codes from that list,
and numbers once issued never change), one digit for century and sex (1900s: 0 male /
1 female, 2000s: 2 / 3, 2100s: 4 / 5 — Decree 137/2015, art. 7; its 6-9 stand for the
2200s and 2300s, so no living person has them), two digits of the birth year and six
random digits.

No check digit exists, so a valid structure does not prove the number was issued; the
point is to catch the mistyped and the made-up before record linkage trusts them.

Reading an identifier as sent (``read_identifier``)
----------------------------------------------------
Agencies send whatever their systems hold; a defective or old identifier never makes a
record unusable. ``read_identifier(raw, birth_date, sex)`` classifies the text as sent
(after NFKC, a leading Excel apostrophe, a trailing ``.0`` and the separators `` .-``
are dropped) into one class:

``valid``
    12 digits, a CCCD structure (province code, century digit 0-5) that agrees with the
    record's birth year and sex (those known).
``mismatch``
    12 digits, a CCCD structure, but the century/sex digit or the year digits disagree with
    the record (a parent's ID on a child's record, a mother's ID on a newborn's, a slip).
``restored``
    11 digits (a zero lost: an export such as Excel drops the leading one) restored when exactly
    one way of putting one zero back gives a ``valid`` ID — every province code starts with 0,
    so for a number not starting with 0 only the leading position can; 10 digits when ``00``
    in front (the province codes 001-009 Excel shortened) gives a ``valid`` ID.
``old_id``
    an old identity card number (CMND): 9 digits, or 12 digits that are not a CCCD structure.
``unverified``
    anything else non-empty (letters, 10 or 11 digits that cannot be restored, other lengths),
    kept as a normalised string (NFKC, upper case, separators removed).

The normalised record contract (every feed writes these keys; ``IdReading.fields``)
------------------------------------------------------------------------------------
For the subject's identifier, the normalised record stored on ``source_record`` holds:

- ``pid``: the 12-digit personal ID, ONLY for ``valid`` and ``restored`` (else None).
  Exact-ID linking and the registry's ``person.pid`` use this key alone.
- ``pid_class``: ``valid`` / ``restored`` / ``mismatch`` / ``old_id`` / ``unverified``,
  or None when no identifier was sent. Not sealed (it says how the ID was read, not what it is).
- ``pid_as_sent``: the identifier as sent (stripped), for every class but ``valid``. Sealed.
- ``pid_mismatch``: the 12 digits of a ``mismatch`` ID. Sealed.
- ``old_id``: the digits of an ``old_id`` (9 or 12). Sealed and search-hashed like a
  personal ID (kind ``pid``), so the registry's old IDs (``person.old_id_hash``) match it.
- ``pid_unverified``: the normalised string of an ``unverified`` identifier. Sealed.

Keys of a class other than the record's are absent, but for ``old_id``: a feed that also sends
the old number beside the ID (the persons feed's ``cmnd`` column, FHIR's ``citizen_id``) writes it
there whatever the class of ``pid``. Every class but ``valid`` raises a
data-quality issue for the sending agency (``IdReading.reason`` says why, in English and
``IdReading.reason_vi`` in Vietnamese).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

# century ("19" = the years 1900-1999) → (male digit, female digit)
_CENTURY_DIGITS: dict[int, tuple[str, str]] = {19: ("0", "1"), 20: ("2", "3"), 21: ("4", "5")}
_DIGIT_CENTURY: dict[str, tuple[int, str]] = {
    digit: (century, sex) for century, pair in _CENTURY_DIGITS.items() for digit, sex in zip(pair, ("M", "F"))
}


class InvalidPid(ValueError):
    """The text is not a structurally valid personal ID number; the message says why."""


@lru_cache(maxsize=1)
def province_codes() -> frozenset[int]:
    """Return the province codes a CCCD may start with (pre-2025 63 plus current 34)."""
    from vietnam_provinces import ProvinceCode
    from vietnam_provinces.legacy import ProvinceCode as LegacyProvinceCode

    return frozenset(int(c) for c in LegacyProvinceCode) | frozenset(int(c) for c in ProvinceCode)


def pid_province_code(pid: str) -> int:
    """Return the province code (first three digits) of a 12-digit ID number."""
    if len(pid) != 12 or not pid.isascii() or not pid.isdigit():
        raise InvalidPid(f"personal ID number {pid!r} must be 12 digits")
    return int(pid[:3])


def pid_century_sex_digit(birth_year: int, sex: str) -> str:
    """Return the 4th digit a person born in ``birth_year`` of ``sex`` ("M"/"F") must have."""
    # "The 1900s" are the years 1900-1999 (the Decree's reading), i.e. birth_year // 100 == 19.
    pair = _CENTURY_DIGITS.get(birth_year // 100)
    if pair is None:
        raise InvalidPid(f"birth year {birth_year} is outside the years a personal ID number can encode (1900-2199)")
    if sex not in ("M", "F"):
        raise InvalidPid(f"sex {sex!r} must be 'M' or 'F' to choose the century digit")
    return pair[0] if sex == "M" else pair[1]


def validate_pid(pid: str, birth_date: date | None, sex: str | None) -> str:
    """Return the ID number (spaces and dots removed) or raise InvalidPid saying what is wrong.

    ``birth_date`` and ``sex`` ("M"/"F"; anything else is not checked) are compared with
    the century/sex digit and the year digits when given.
    """
    if not isinstance(pid, str):
        raise InvalidPid("personal ID number must be text")
    digits = pid.strip().replace(" ", "").replace(".", "")
    if len(digits) != 12 or not digits.isascii() or not digits.isdigit():
        raise InvalidPid(f"personal ID number {pid!r} must be exactly 12 digits")
    province = int(digits[:3])
    if province not in province_codes():
        raise InvalidPid(f"personal ID number {pid!r} starts with {digits[:3]}, which is not a province code")
    century_sex = _DIGIT_CENTURY.get(digits[3])
    if century_sex is None:
        raise InvalidPid(f"personal ID number {pid!r}: 4th digit {digits[3]} encodes no possible century (0-5 only)")
    century, encoded_sex = century_sex
    if birth_date is not None:
        if birth_date.year // 100 != century:
            raise InvalidPid(
                f"personal ID number {pid!r}: 4th digit {digits[3]} means born in the {century}00s, "
                f"but the birth date is {birth_date.isoformat()}"
            )
        if digits[4:6] != f"{birth_date.year % 100:02d}":
            raise InvalidPid(
                f"personal ID number {pid!r}: digits 5-6 ({digits[4:6]}) must be the last two digits "
                f"of the birth year {birth_date.year}"
            )
    if sex in ("M", "F") and encoded_sex != sex:
        expected = "male" if encoded_sex == "M" else "female"
        raise InvalidPid(f"personal ID number {pid!r}: 4th digit {digits[3]} means {expected}, but sex is {sex}")
    return digits


# -- reading an identifier as sent ---------------------------------------------------------------

PidClass = Literal["valid", "restored", "mismatch", "old_id", "unverified"]
PID_CLASSES: tuple[str, ...] = ("valid", "restored", "mismatch", "old_id", "unverified")
# the classes whose ``pid`` a record may be linked on exactly
EXACT_CLASSES = frozenset(("valid", "restored"))
# normalised-record keys holding an identifier (all sealed as kind "pid"; see the module docstring)
PID_VALUE_KEYS: tuple[str, ...] = ("pid", "pid_as_sent", "pid_mismatch", "old_id", "pid_unverified")
_VALUE_KEY: dict[str, str] = {"valid": "pid", "restored": "pid", "mismatch": "pid_mismatch",
                              "old_id": "old_id", "unverified": "pid_unverified"}
_SEPARATORS = str.maketrans("", "", " .-_\t")
MAX_ID_TEXT = 64  # longer text is not an identifier; it is cut (the whole record keeps the raw text)


@dataclass(frozen=True, slots=True)
class IdReading:
    """How one identifier as sent was read: its class, its normalised value and why."""

    kind: str  # one of PID_CLASSES
    value: str  # 12 digits for valid/restored/mismatch, the digits of an old ID, else the normalised text
    as_sent: str  # the text as sent, stripped
    reason: str = ""  # English; empty for valid
    reason_vi: str = ""  # Vietnamese; empty for valid

    @property
    def pid(self) -> str | None:
        """Return the personal ID a record may be linked on exactly (valid / restored), else None."""
        return self.value if self.kind in EXACT_CLASSES else None

    @property
    def clean(self) -> bool:
        """True when nothing about the identifier needs a data-quality issue."""
        return self.kind == "valid"

    def fields(self) -> dict[str, str | None]:
        """Return the normalised-record keys for this reading (the contract in the module docstring)."""
        out: dict[str, str | None] = {"pid": self.pid, "pid_class": self.kind}
        if self.kind != "valid":
            out["pid_as_sent"] = self.as_sent
            if self.kind != "restored":
                out[_VALUE_KEY[self.kind]] = self.value
        return out


def no_identifier_fields() -> dict[str, str | None]:
    """Return the normalised-record keys of a record that sent no identifier."""
    return {"pid": None, "pid_class": None}


def _clean_digits(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw).strip().lstrip("'").strip()
    if text.endswith(".0") and text[:-2].isdigit():  # a number a spreadsheet wrote as a decimal
        text = text[:-2]
    return text.translate(_SEPARATORS)


def _structure(digits: str) -> tuple[int, str] | None:
    """Return (century, sex) encoded by a 12-digit CCCD structure, or None when it is not one."""
    if int(digits[:3]) not in province_codes():
        return None
    return _DIGIT_CENTURY.get(digits[3])


def _disagreement(digits: str, century: int, encoded_sex: str, birth_date: date | None,
                  sex: str | None) -> str | None:
    if birth_date is not None and birth_date.year // 100 != century:
        return f"the 4th digit {digits[3]} means born in the {century}00s, but the birth date is {birth_date.isoformat()}"
    if birth_date is not None and digits[4:6] != f"{birth_date.year % 100:02d}":
        return f"digits 5-6 ({digits[4:6]}) are not the last two digits of the birth year {birth_date.year}"
    if sex in ("M", "F") and encoded_sex != sex:
        return f"the 4th digit {digits[3]} means {'male' if encoded_sex == 'M' else 'female'}, but the sex is {sex}"
    return None


def _consistent(digits: str, birth_date: date | None, sex: str | None) -> bool:
    found = _structure(digits)
    return found is not None and _disagreement(digits, *found, birth_date, sex) is None


def _restorations(digits: str, birth_date: date | None, sex: str | None) -> set[str]:
    """Return the distinct consistent IDs made by putting back the zeros a shorter number lost."""
    # 11 digits: one zero lost anywhere (an export drops the leading one; a typist any); 10 digits:
    # only the two leading zeros of a province code 001-009 an export dropped (two zeros lost
    # anywhere would make too many candidates to trust one)
    candidates = ({digits[:i] + "0" + digits[i:] for i in range(12)} if len(digits) == 11 else {"00" + digits})
    return {c for c in candidates if _consistent(c, birth_date, sex)}


def read_identifier(raw: str, birth_date: date | None = None, sex: str | None = None) -> IdReading | None:
    """Classify a personal identifier as sent (see the module docstring); None when ``raw`` is empty.

    ``birth_date`` and ``sex`` ("M"/"F"; anything else is not compared) are the record's own.
    """
    as_sent = raw.strip()[:MAX_ID_TEXT]
    if not as_sent:
        return None
    digits = _clean_digits(as_sent)
    if not (digits.isascii() and digits.isdigit()):
        norm = unicodedata.normalize("NFKC", as_sent).upper().translate(_SEPARATORS)
        return IdReading("unverified", norm or as_sent, as_sent, "not a number: kept as sent, unverified",
                         "không phải dãy số: giữ nguyên như đã gửi, chưa xác minh")
    if len(digits) == 12:
        found = _structure(digits)
        if found is None:
            return IdReading("old_id", digits, as_sent,
                             "12 digits that are not a personal ID number (CCCD): read as an old identity card (CMND)",
                             "12 chữ số không theo cấu trúc số định danh cá nhân: coi là số CMND cũ")
        why = _disagreement(digits, *found, birth_date, sex)
        if why is None:
            return IdReading("valid", digits, as_sent)
        return IdReading("mismatch", digits, as_sent,
                         f"personal ID number disagrees with the record: {why}",
                         "số định danh cá nhân không khớp với năm sinh hoặc giới tính của hồ sơ")
    if len(digits) == 9:
        return IdReading("old_id", digits, as_sent, "9-digit old identity card number (CMND)",
                         "số chứng minh nhân dân (CMND) cũ 9 chữ số")
    if len(digits) in (10, 11):
        restored = _restorations(digits, birth_date, sex)
        if len(restored) == 1:
            return IdReading("restored", restored.pop(), as_sent,
                             f"{len(digits)} digits: the zero(s) an export or a typist dropped were restored",
                             f"{len(digits)} chữ số: đã khôi phục số 0 bị mất (khi xuất tệp hoặc khi nhập)")
        why = "no" if not restored else "more than one"
        return IdReading("unverified", digits, as_sent,
                         f"{len(digits)} digits: {why} way of restoring dropped zeros gives an ID consistent with the record",
                         f"{len(digits)} chữ số: không khôi phục được số định danh khớp với hồ sơ")
    return IdReading("unverified", digits, as_sent, f"{len(digits)} digits is not the length of any identity number",
                     f"{len(digits)} chữ số không phải độ dài của số định danh hay CMND nào")
