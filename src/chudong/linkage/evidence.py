"""The evidence of one candidate link, field by field, for the officer who reviews it.

``compare`` puts a record's and a person's facts side by side and says for each field how
far they agree, with the same readings linkage uses (``kit.names``, ``kit.dates``,
``kit.phones``, ``kit.pid``), so the review screen shows why a pair is uncertain: "same name
and birth date, another ward, another ID".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from chudong.kit.dates import InvalidDate, date_agreement, parse_date
from chudong.kit.names import is_placeholder_name, linkage_key, regional_key
from chudong.kit.phones import InvalidPhone, normalise_phone
from chudong.kit.pid import read_identifier


@dataclass(frozen=True)
class Evidence:
    """One field of a candidate pair: both values as held and how far they agree."""

    field: str  # name / birth_date / sex / ward_code / phone / pid
    record: str | None
    person: str | None
    agreement: str  # same / near / different / unknown, or a date agreement of kit.dates

    @property
    def label_vi(self) -> str:
        """Return the agreement in Vietnamese for the review screen."""
        return _VI.get(self.agreement, self.agreement)


_VI = {"same": "trùng khớp", "exact": "trùng khớp", "near": "gần giống", "swapped": "đảo ngày và tháng",
       "placeholder": "chỉ trùng năm (ngày 01/01 thay thế)", "same_year": "chỉ trùng năm",
       "different": "khác nhau", "unknown": "không đủ dữ liệu"}


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _name(record: str | None, person: str | None) -> str:
    if not record or not person or is_placeholder_name(record):
        return "unknown"
    a, b = linkage_key(record), linkage_key(person)
    if a == b:
        return "same"
    wa, wb = a.split(" "), b.split(" ")
    if regional_key(a) == regional_key(b) or sorted(wa) == sorted(wb) or (wa[0], wa[-1]) == (wb[0], wb[-1]):
        return "near"
    return "different"


def _date(value: object) -> dt.date | None:
    try:
        return parse_date(value)
    except InvalidDate:
        return None


def _phone(value: object) -> str | None:
    try:
        return normalise_phone(str(value)) if value else None
    except InvalidPhone:
        return None


def _pid(record: dict, person: dict) -> str:
    sent = _text(record.get("pid"))
    reading = read_identifier(sent, _date(record.get("birth_date")), record.get("sex")) if sent else None
    old = _text(record.get("old_id")) or (reading.value if reading and reading.kind == "old_id" else None)
    mine = reading.pid if reading else None
    if old and person.get("old_id"):
        return "same" if old == person["old_id"] else "different"
    if not mine or not person.get("pid"):
        return "unknown"
    if mine == person["pid"]:
        return "same"
    a, b = mine, str(person["pid"])
    one_typo = sum(x != y for x, y in zip(a, b)) == 1 or any(
        a[:i] + a[i + 1] + a[i] + a[i + 2:] == b for i in range(len(a) - 1))
    return "near" if one_typo else "different"


def compare(record: dict, person: dict) -> list[Evidence]:
    """Return the evidence of a record (facts as sent) against a person (registry facts)."""
    rb, pb = _date(record.get("birth_date")), _date(person.get("birth_date"))
    rp, pp = _phone(record.get("phone")), _phone(person.get("phone"))
    rw, pw = _text(record.get("ward_code")), _text(person.get("ward_code"))
    rs, ps = _text(record.get("sex")), _text(person.get("sex"))
    return [
        Evidence("name", _text(record.get("full_name")), _text(person.get("full_name")),
                 _name(record.get("full_name"), person.get("full_name"))),
        Evidence("birth_date", _text(record.get("birth_date")), _text(person.get("birth_date")), date_agreement(rb, pb)),
        Evidence("sex", rs, ps, "unknown" if not rs or not ps else "same" if rs == ps else "different"),
        Evidence("ward_code", rw, pw, "unknown" if not rw or not pw else "same" if rw == pw else "different"),
        Evidence("phone", rp, pp, "unknown" if not rp or not pp else "same" if rp == pp else "different"),
        Evidence("pid", _text(record.get("pid") or record.get("old_id")), _text(person.get("pid")), _pid(record, person)),
    ]
