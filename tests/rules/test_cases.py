"""Rule cases as data: every entry of tests/rules/cases/*.yaml, run by the daily detection on both databases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from chudong.registry.models import QualityIssue
from chudong.rules.models import LifeEvent
from chudong.rules.service import detect
from tests.rules import builders as b

CASES_DIR = Path(__file__).parent / "cases"


def _load() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for i, case in enumerate(doc["cases"]):
            params.append(pytest.param(doc["service"], case, id=f"{path.stem}[{i}] {case['name']}"))
    return params


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _facts(session, case: dict[str, Any]) -> None:
    """Write the case's facts to the registry through the test builders."""
    holder = None
    if "holder" in case:
        h = case["holder"]
        holder = b.person(session, birth_date=_day(h["birth_date"]), sex=h.get("sex", "M"))
    for lic in case.get("licences", []):
        b.licence(session, lic["kind"], holder, _day(lic["issued_on"]),
                  _day(lic["expires_on"]) if lic.get("expires_on") else None, licence_class=lic.get("class"),
                  no_expiry=bool(lic.get("no_expiry", False)))
    if "household" in case:
        hh = case["household"]
        b.household(session, income=hh["income"], deprived=hh["deprived"], area_type=hh["area_type"],
                    survey_date=_day(hh["survey_date"]))
    if "birth" in case:
        b.vital_event(session, "birth", _day(case["birth"]["date"]), mother=b.person(session, sex="F"))
    if "death" in case:
        b.vital_event(session, "death", _day(case["death"]["date"]), subject=b.person(session, birth_date=dt.date(1940, 1, 1)))


@pytest.mark.parametrize(("service_id", "case"), _load())
def test_case(session, service_id: str, case: dict[str, Any]) -> None:
    _facts(session, case)
    detect(session, as_of=_day(case["as_of"]), service_id=service_id)
    events = list(session.scalars(select(LifeEvent).where(LifeEvent.service_id == service_id)))
    expect = case["expect"]
    if not expect["due"]:
        assert events == [], [e.reason["text_en"] for e in events]
        return
    [event] = events
    facts = event.reason["facts"]
    if "due_date" in expect:
        assert event.due_date == _day(expect["due_date"])
    if "classification" in expect:
        assert facts["classification"] == expect["classification"]
    if "renewal_class" in expect:
        assert facts["renewal_class"]["to"] == expect["renewal_class"]
    if "reference" in expect:
        assert expect["reference"] in json.dumps(event.reason, ensure_ascii=False)
    if "issue" in expect:
        kind, fld = expect["issue"].split()
        found = session.scalars(select(QualityIssue).where(QualityIssue.kind == kind, QualityIssue.field == fld)).all()
        assert len(found) == 1


def test_every_service_with_a_case_file_exists_and_every_case_file_has_cases() -> None:
    from chudong.rules.catalogue import get_catalogue

    services = get_catalogue().services
    for path in CASES_DIR.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert doc["service"] == path.stem and doc["service"] in services and doc["cases"] and doc["references"]
