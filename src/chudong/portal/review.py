"""What an officer reads before deciding: fields in words, and the fields that stop a one-click approval.

A field is a *concern* when the citizen disputes it, when it is missing, or when its value is not valid
for its kind (a personal ID of 12 digits, a phone number, a date that has happened). An invalid field
cannot be approved — the officer asks for a supplement or rejects; disputed and missing fields can be
approved only after the officer says, with a note, that they checked them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from chudong.dossiers.labels import LABELS_VI
from chudong.dossiers.service import NOT_ON_RECORD
from chudong.kit import clock
from chudong.web.i18n import current_language, gettext as _
from chudong.web.templating import HumanValues, long_date

PID = re.compile(r"\d{12}")
PHONE = re.compile(r"0\d{9}")
LABELS_EN = {
    "birth_weight_g": "Birth weight (grams)", "birth_facility": "Health facility of birth",
    "mother_ward": "Mother's residence", "household": "Household", "father_pid": "Father's personal ID",
    "parent_contact": "Parents' phone number", "residence_ward": "Residence", "expected_school": "Expected school",
    "current_card_issued_on": "Current card issued on", "floor_area_m2": "Floor area (m²)",
    "design_drawings": "Design drawings", "declarant": "Declarant", "photo_and_fingerprints": "Photo and fingerprints",
    "child_name": "Full name", "child_full_name": "Full name", "full_name": "Full name", "birth_date": "Date of birth",
    "child_birth_date": "Date of birth", "sex": "Sex", "child_sex": "Sex", "birth_place": "Place of birth",
    "facility": "Place of birth", "weight_g": "Weight (grams)", "mother_name": "Mother's full name",
    "mother_full_name": "Mother's full name", "mother_pid": "Mother's personal ID", "father_name": "Father's full name",
    "pid": "Personal ID", "death_date": "Date of death", "cause": "Cause", "ward_code": "Residence",
    "licence_number": "Licence number", "licence_class": "Class", "expires_on": "Expires on",
    "income_per_person": "Income per person (VND a month)", "parcel": "Land parcel", "household_code": "Household",
}
ISSUE_KINDS = {"conflict": "Agencies disagree", "missing": "Missing in the registry",
               "correction": "Correction asked by a citizen", "link_review": "Possible same person, to review"}


@dataclass(frozen=True)
class Concern:
    """A field the officer must look at before approving."""

    field: str
    kind: str  # disputed / missing / invalid
    reason: str  # English message id, translated when shown


def field_label(name: str) -> str:
    """Return a field's label in the current language."""
    if current_language() == "vi":
        return LABELS_VI.get(name, name.replace("_", " "))
    return LABELS_EN.get(name, name.replace("_", " ").capitalize())


def date_in_words(value: dt.date | dt.datetime | str | None) -> str:
    """Return a date in words (``long_date``); a moment keeps its time of day in Vietnam."""
    if isinstance(value, dt.datetime):
        local = value.astimezone(clock.VN_TZ) if value.tzinfo else value
        return f"{long_date(local.date())}, {local:%H:%M}"
    return long_date(value)


def invalid_reason(name: str, value: object) -> str | None:
    """Return why a field's value is not valid for its kind, or None when it is (or its kind is not checked)."""
    text = "" if value is None else str(value).strip()
    if not text or text in NOT_ON_RECORD:  # "không có / chưa có": the citizen said there is none
        return None
    if name == "pid" or name.endswith("_pid"):
        return None if PID.fullmatch(text) else "a personal ID has exactly 12 digits"
    if name.endswith(("_contact", "_phone")) or name == "phone":
        return None if PHONE.fullmatch(text.replace(" ", "")) else "a phone number has 10 digits and starts with 0"
    if name.endswith(("_date", "_on")) and name not in ("expires_on",):
        try:
            day = dt.date.fromisoformat(text[:10])
        except ValueError:
            return "not a date"
        return "a date in the future" if day > clock.today() else None
    return None


def concerns(d) -> list[Concern]:
    """Return the fields of a dossier that stop a one-click approval, invalid ones first."""
    found = []
    for name, f in (d.fields or {}).items():
        value = f.get("value")
        reason = invalid_reason(name, value)
        if reason:
            found.append(Concern(name, "invalid", reason))
        elif value is None or str(value).strip() == "":
            found.append(Concern(name, "missing", "no value"))
        elif f.get("correction"):
            found.append(Concern(name, "disputed", "the citizen disputes this value"))
    order = {"invalid": 0, "disputed": 1, "missing": 2}
    return sorted(found, key=lambda c: order[c.kind])


class Names(HumanValues):
    """Values in words (``HumanValues``) and, for an officer's page, who did what: officers by name and unit."""

    def __init__(self, session: Session, fields: dict | None = None) -> None:
        super().__init__(session, fields)
        self._officers: dict[str, str] = {}

    def actor(self, label: str | None) -> str:
        """Return who did something: an officer by name and unit, the system or the citizen in words."""
        from chudong.dossiers.models import Officer, Unit

        kind, _sep, ident = (label or "").partition(":")
        if kind == "officer":
            if ident not in self._officers:
                row = self.session.execute(select(Officer.full_name, Unit.name).join(Unit, Unit.code == Officer.unit_code)
                                           .where(Officer.username == ident)).first()
                self._officers[ident] = f"{row[0]} ({row[1]})" if row else ident
            return self._officers[ident]
        if kind == "citizen":
            return _("the citizen")
        if kind in ("system", "bot"):
            return _("the system")
        return label or ""
