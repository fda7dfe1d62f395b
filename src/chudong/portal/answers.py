"""What only the citizen can tell: one question per field the citizen fills in, read and checked.

A field's kind decides its question and its check (a personal ID number, a phone number, a name, a
fact that may not exist, such as the father's ID). ``read`` returns the values to send to the
dossier, what was typed (to show again after an error) and the errors in the page's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chudong.dossiers.service import NOT_ON_RECORD
from chudong.portal.validation import phone_message, pid_message
from chudong.web.i18n import gettext as _

# The stored value of a fact the citizen says does not exist or is not known yet (official records
# are kept in Vietnamese; pages show these in the reader's language).
NONE_VALUES = dict(zip(("none", "not_yet"), NOT_ON_RECORD, strict=True))

# field name → kind; a field not named here is free text.
KINDS = {
    "father_pid": "pid_or_none", "mother_pid": "pid", "pid": "pid",
    "parent_contact": "phone",
    "child_name": "name", "declarant": "name", "full_name": "name", "father_name": "name_or_none",
    "design_drawings": "file",
}
ATTACHED = re.compile(r"attachment:(\d+)")
MAX_NAME = 100
MAX_TEXT = 200


@dataclass(frozen=True)
class Question:
    """One field the citizen fills in."""

    name: str
    kind: str


def questions(d: Any) -> list[Question]:
    """Return the questions of a dossier's citizen fields, in the dossier's order."""
    return [Question(name, KINDS.get(name, "text")) for name, f in (d.fields or {}).items() if f.get("source") == "citizen"]


def read(d: Any, form: dict[str, str], attached: dict[int, str] | None = None,
         ) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Read the form's answers: (values for the dossier, what was typed, {field: error message}).

    A file question's answer is ``attachment:<id>`` of a document already uploaded to this dossier
    (``attached``: id → file name); its value is the file's name.
    """
    values: dict[str, str] = {}
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    for q in questions(d):
        raw = str(form.get(f"f_{q.name}", "") or "").strip()
        typed[q.name] = raw
        if q.kind == "file":
            m = ATTACHED.fullmatch(raw)
            if m and int(m.group(1)) in (attached or {}):
                values[q.name] = (attached or {})[int(m.group(1))]
            else:
                errors[q.name] = _("Attach the file (PDF, JPEG or PNG).")
            continue
        if q.kind.endswith("_or_none"):
            choice = str(form.get(f"f_{q.name}_choice", "") or ("has" if raw else "")).strip()
            typed[f"{q.name}_choice"] = choice
            if choice in NONE_VALUES:
                values[q.name] = NONE_VALUES[choice]
                continue
            if choice != "has":
                errors[q.name] = _("Choose one answer.")
                continue
        why = _check(q.kind.removesuffix("_or_none"), raw)
        if why:
            errors[q.name] = why
        else:
            values[q.name] = raw.replace(" ", "").replace(".", "") if q.kind.startswith("pid") else raw
    return values, typed, errors


def _check(kind: str, raw: str) -> str | None:
    if not raw:
        return _("This answer is needed.")
    if kind == "pid":
        return pid_message(raw)
    if kind == "phone":
        return phone_message(raw)
    limit = MAX_NAME if kind == "name" else MAX_TEXT
    if len(raw) > limit:
        return _("Enter at most %(max_length)s characters.") % {"max_length": limit}
    if kind == "name" and any(ch.isdigit() for ch in raw):
        return _("A name cannot contain digits.")
    return None
