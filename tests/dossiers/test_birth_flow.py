"""Birth registration end to end through the engine: open, confirm, approve, linked, result."""

import datetime as dt

import pytest
from sqlalchemy import select

from chudong.dossiers import service
from chudong.dossiers.models import Dossier, DossierEvent
from chudong.dossiers.results import render_result_pdf, result_of, verification_url, verify_token
from chudong.identity.principal import Principal
from chudong.kit.errors import Conflict, Forbidden, Unprocessable
from chudong.registry.models import QualityIssue

from . import builders as b


def _officer_principal(o) -> Principal:
    return Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                     agency=o.agency, role=o.role)


def test_birth_dossier_opened_prefilled_and_offered(seeded, notices):
    s = seeded
    mother = b.person(s, household=b.household(s))
    vital = b.vital_event(s, mother=mother)
    ev = b.life_event(s, "birth-registration", person=mother, vital=vital)
    res = service.open_dossiers(s, [ev.id])
    assert res.opened == 1
    d = service.get_by_code(s, res.codes[0])
    assert d.status == "offered" and d.kind == "dossier"
    assert d.code.startswith("48-KS-261102-")
    assert d.handling_unit_code == f"TP-{mother.ward_code}"
    assert d.fields["mother_name"]["value"] == "Nguyễn Thị Lan"
    assert d.fields["mother_name"]["agency"] == "POP-48" and d.fields["mother_name"]["verified"]
    assert d.fields["birth_weight_g"]["value"] == 3100
    assert d.fields["child_name"]["source"] == "citizen"
    assert d.prefill_share == 1.0
    assert [e.kind for e in service.timeline(s, d)] == ["detected", "offered"]
    assert notices[0]["step"] == "offered" and notices[0]["event_key"] == f"dossier:{d.code}"
    # opening again does nothing (double submission)
    assert service.open_dossiers(s, [ev.id]).opened == 0


def test_birth_end_to_end(seeded, notices, settings, clock):
    s = seeded
    mother = b.person(s, household=b.household(s))
    vital = b.vital_event(s, mother=mother)
    ev = b.life_event(s, "birth-registration", person=mother, vital=vital)
    code = service.open_dossiers(s, [ev.id]).codes[0]
    citizen = Principal.citizen(mother.id)
    d = service.for_citizen(s, citizen, code)
    with pytest.raises(Unprocessable, match="child_name"):
        service.confirm(s, d, citizen, supplied={}, linked=None, version=d.version)
    service.confirm(s, d, citizen, supplied={"child_name": "Lê Minh An", "father_pid": "048090001234"},
                    linked=None, version=d.version)
    assert d.status == "confirmed"  # a citizen-supplied name needs an officer: no post-check
    assert d.received_on == dt.date(2026, 11, 2) and d.due_on == dt.date(2026, 11, 5)
    kids = service.children_of(s, d)
    assert {k.service_id for k in kids} == {"permanent-residence", "health-insurance-card"}
    assert {k.agency for k in kids} == {"police", "social_insurance"}
    assert all(k.status == "confirmed" and k.due_on == dt.date(2026, 11, 5) for k in kids)

    civil = _officer_principal(b.officer(s, d.handling_unit_code))
    police = _officer_principal(b.officer(s, "CA-48"))
    insurance = _officer_principal(b.officer(s, "BHXH-48"))
    with pytest.raises(Forbidden):
        service.approve(s, d, police, version=d.version)
    stale = d.version
    service.claim(s, d, civil, version=d.version)
    with pytest.raises(Conflict, match="changed since"):
        service.approve(s, d, civil, version=stale)
    service.approve(s, d, civil, version=d.version)
    assert d.status == "result_issued"  # waits for its linked sub-dossiers
    assert d.settlement_class == "early"
    for kid, who in zip(sorted(kids, key=lambda k: k.agency), (police, insurance)):
        service.approve(s, kid, who, version=kid.version)
        assert kid.status == "closed"
    s.refresh(d)
    assert d.status == "closed"
    kinds = [e.kind for e in service.timeline(s, d)]
    assert kinds[-3:] == ["approved", "result_issued", "closed"]
    assert {"approved", "result_issued"} <= {n["step"] for n in notices}

    result = result_of(s, d)
    assert result.kind == "birth_certificate_extract" and result.data["fields"]["child_name"] == "Lê Minh An"
    url = verification_url(settings.base_url, settings.secret_key, result)
    pdf = render_result_pdf(d, result, url)
    assert pdf.startswith(b"%PDF-")
    token = url.rsplit("/", 1)[1]
    assert verify_token(s, [settings.secret_key], token).outcome == "genuine"
    assert verify_token(s, [settings.secret_key], token[:-2] + "xx").outcome == "unknown"


def test_correction_becomes_quality_issue_not_overwrite(seeded, notices):
    s = seeded
    mother = b.person(s, household=b.household(s))
    vital = b.vital_event(s, mother=mother)
    code = service.open_dossiers(s, [b.life_event(s, "birth-registration", person=mother, vital=vital).id]).codes[0]
    citizen = Principal.citizen(mother.id)
    d = service.for_citizen(s, citizen, code)
    issue_id = service.correct_field(s, d, citizen, field_name="mother_name", value="Nguyễn Thị Lành",
                                     version=d.version)
    issue = s.get(QualityIssue, issue_id)
    assert issue.kind == "correction" and issue.agency_code == "POP-48"
    assert issue.value_a == "Nguyễn Thị Lan" and issue.value_b == "Nguyễn Thị Lành"
    assert d.fields["mother_name"]["value"] == "Nguyễn Thị Lan"  # not silently overwritten
    assert not d.fields["mother_name"]["verified"]
    assert not service.is_verified(d)


def test_other_citizen_gets_not_found(seeded, notices):
    s = seeded
    mother = b.person(s, household=b.household(s))
    vital = b.vital_event(s, mother=mother)
    code = service.open_dossiers(s, [b.life_event(s, "birth-registration", person=mother, vital=vital).id]).codes[0]
    from chudong.kit.errors import NotFound

    with pytest.raises(NotFound):
        service.for_citizen(s, Principal.citizen(mother.id + 999), code)
