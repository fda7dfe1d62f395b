"""Personal ID number (CCCD, *số định danh cá nhân*): structural validation.

Twelve digits: a 3-digit province code of birth registration (the codes of the 63
provinces before the 2025 merger; the 34 current provinces kept codes from that list,
and numbers once issued never change), one digit for century and sex (1900s: 0 male /
1 female, 2000s: 2 / 3, 2100s: 4 / 5 — Decree 137/2015, art. 7; its 6-9 stand for the
2200s and 2300s, so no living person has them), two digits of the birth year and six
random digits.

No check digit exists, so a valid structure does not prove the number was issued; the
point is to catch the mistyped and the made-up before record linkage trusts them.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

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
