"""Every other service through its lifecycle: notices, supplements, overdue, linked, post-check."""

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from chudong.dossiers import service
from chudong.dossiers.models import DataAccessLog, Dossier, PostAudit
from chudong.dossiers.policy import policy_of_dossier
from chudong.dossiers.results import result_of, verification_url, verify_token
from chudong.dossiers.statemachine import IllegalTransition
from chudong.identity.principal import Principal
from chudong.kit.errors import Conflict, Forbidden, PayloadTooLarge, Unprocessable

from . import builders as b

NOTICE_SERVICES = {
    "passport-expiry": "passport", "driving-licence-renewal": "driving_licence", "id-card-reissue": "id_card",
    "medical-licence-renewal": "medical_licence", "tour-guide-card-renewal": "tour_guide_card",
    "veterinary-cert-renewal": "veterinary_cert", "transport-licence-renewal": "transport_licence",
}


def officer_of(s, unit_code: str, role: str = "officer") -> Principal:
    o = b.officer(s, unit_code, role=role)
    return Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                     agency=o.agency, role=o.role)


def open_one(s, service_id: str, **kw) -> Dossier:
    ev = b.life_event(s, service_id, **kw)
    return service.get_by_code(s, service.open_dossiers(s, [ev.id]).codes[0])


def test_notice_services_are_acted_on_or_expire(seeded, notices, clock):
    s = seeded
    opened = []
    for service_id, kind in NOTICE_SERVICES.items():
        holder = b.person(s, household=b.household(s))
        b.licence(s, holder, kind=kind, licence_class="B" if kind == "driving_licence" else None)
        d = open_one(s, service_id, person=holder, due_date=dt.date(2026, 11, 20))
        assert d.kind == "notice" and d.status == "offered"
        # every field the registries hold is pre-filled (a passport simply has no licence class)
        assert d.fields_prefilled == d.fields_total - sum(1 for f in d.fields.values() if f["path"] == "licence.licence_class"
                                                          and kind != "driving_licence")
        assert d.fields.get("number", {"value": 1})["value"]
        opened.append((d, holder))
    acted, waiting = opened[:3], opened[3:]
    for d, holder in acted:
        who = Principal.citizen(holder.id)
        with pytest.raises(IllegalTransition):
            service.confirm(s, d, who, supplied={}, linked=None, version=d.version)
        service.act_on_notice(s, d, who, version=d.version)
        assert d.status == "acted_on"
    clock.advance(dt.timedelta(days=19))  # past the due date of the notices
    run = service.run_deadlines(s)
    assert run.expired == len(waiting)
    assert {d.status for d, _ in waiting} == {"expired"}
    with pytest.raises(IllegalTransition, match="no further step"):
        service.act_on_notice(s, waiting[0][0], Principal.citizen(waiting[0][1].id), version=None)


def test_death_registration_supplement_stops_clock_then_overdue_and_late(seeded, notices, clock):
    s = seeded
    deceased = b.person(s, full_name="Phạm Văn Tư", sex="M", household=b.household(s))
    vital = b.vital_event(s, kind="death", subject=deceased)
    d = open_one(s, "death-registration", person=deceased, vital=vital)
    who = Principal.citizen(deceased.id)  # in tests the offer goes to the subject's record
    service.confirm(s, d, who, supplied={"declarant": "Phạm Thị Hoa (con gái)"}, linked=None, version=d.version)
    assert {c.agency for c in service.children_of(s, d)} == {"police", "social_insurance"}
    assert d.due_on == dt.date(2026, 11, 9)  # 5 working days from Monday 2 November
    civil = officer_of(s, d.handling_unit_code)
    service.request_supplement(s, d, civil, reason="Thiếu giấy tờ chứng minh quan hệ", documents=["giấy khai sinh"],
                               version=d.version)
    assert d.status == "supplement_requested" and d.supplement_due_on == dt.date(2026, 11, 11)
    assert service.deadline_status(d, service.calendar(s)) == "paused"
    clock.advance(dt.timedelta(days=2))  # Wednesday: 2 working days paused
    service.add_attachment(s, d, who, kind="birth_certificate", filename="ks.pdf", media_type="application/pdf",
                           content=b"%PDF-1.7\n...")
    service.supply(s, d, who, values={}, note="đã bổ sung", version=d.version)
    assert d.status == "in_processing" and d.paused_working_days == 2 and d.due_on == dt.date(2026, 11, 11)
    clock.advance(dt.timedelta(days=7))  # Wednesday 11 November: due today
    cal = service.calendar(s)
    assert service.deadline_status(d, cal) == "due_soon"
    head = b.officer(s, d.handling_unit_code, role="unit_head")
    assert service.run_deadlines(s).escalated >= 1
    esc = [e for e in service.timeline(s, d) if e.kind == "escalated"]
    assert esc and head.username in esc[0].data["unit_heads"]
    clock.advance(dt.timedelta(days=1))
    assert service.deadline_status(d, cal) == "overdue"
    service.approve(s, d, civil, version=d.version)
    assert d.settlement_class == "late" and d.status == "result_issued"


def test_supplement_not_provided_in_window_is_rejected(seeded, notices, clock):
    s = seeded
    child = b.person(s, full_name="Lê Gia Bảo", birth_date=dt.date(2020, 5, 1), sex="M", household=b.household(s))
    d = open_one(s, "school-admission", person=child)
    who = Principal.citizen(child.id)
    service.confirm(s, d, who, supplied={"parent_contact": "0905 123 456"}, linked=None, version=d.version)
    assert d.status == "confirmed"  # citizen-supplied contact: not all fields from registries
    edu = officer_of(s, d.handling_unit_code)
    assert d.agency == "education"
    service.request_supplement(s, d, edu, reason="Cần xác nhận nơi cư trú", documents=[], version=d.version)
    clock.advance(dt.timedelta(days=10))
    assert service.run_deadlines(s).lapsed_supplements == 1
    assert d.status == "closed" and "không bổ sung hồ sơ trong thời hạn" in service.timeline(s, d)[-2].data["legal_reason"]


def test_house_building_fans_out_to_three_agencies_and_closes_with_them(seeded, notices, clock):
    s = seeded
    owner = b.person(s, full_name="Võ Văn Kiệt", sex="M", household=b.household(s))
    plan = b.building_plan(s, owner)
    d = open_one(s, "house-building-bundle", person=owner, plan=plan, subject_kind="building_plan")
    assert d.fields["parcel"]["value"] == "Tờ 12 thửa 345" and d.fields["floors"]["value"] == 3
    who = Principal.citizen(owner.id)
    with pytest.raises(Unprocessable, match="not linked procedures"):
        service.confirm(s, d, who, supplied={"design_drawings": "bản vẽ A"}, linked=["gas"], version=d.version)
    assert d.status == "offered"  # nothing applied
    service.confirm(s, d, who, supplied={"design_drawings": "bản vẽ A"}, linked=None, version=d.version)
    kids = service.children_of(s, d)
    assert {k.agency for k in kids} == {"construction", "electricity", "water"}
    assert {k.due_on for k in kids if k.agency != "construction"} == {dt.date(2026, 11, 9)}
    service.approve(s, d, officer_of(s, d.handling_unit_code), version=d.version)
    for k in kids:
        assert d.status == "result_issued"
        service.approve(s, k, officer_of(s, k.handling_unit_code), version=k.version)
    assert d.status == "closed"
    service.rate(s, d, who, score=5)
    with pytest.raises(Conflict):
        service.rate(s, d, who, score=4)


def test_post_check_auto_approves_verified_dossier_and_audit_can_revoke(seeded, notices, monkeypatch, settings):
    s = seeded

    def allow(service_id, parent):  # a service configured for post-check with every approval audited
        return dataclasses.replace(policy_of_dossier(service_id, parent), post_check_allowed=True, audit_share=1.0)

    monkeypatch.setattr(service, "policy_of_dossier", allow)
    hh = b.household(s)
    head = b.person(s, full_name="Đinh Văn Nam", sex="M", household=hh)
    d = open_one(s, "poor-household-confirmation", person=head, household=hh, subject_kind="household")
    assert service.is_verified(d)
    service.confirm(s, d, Principal.citizen(head.id), supplied={}, linked=None, version=d.version)
    assert d.status == "closed" and d.auto_approved and d.settlement_class == "early"
    assert any(e.actor == "system:post-check" for e in service.timeline(s, d))
    auditor = officer_of(s, d.handling_unit_code)
    assert [x.code for _a, x in service.post_audit_queue(s, auditor)] == [d.code]
    with pytest.raises(Unprocessable):
        service.record_post_audit(s, d, auditor, outcome="failed", finding="")
    service.record_post_audit(s, d, auditor, outcome="failed", finding="thu nhập khai sai")
    token = verification_url(settings.base_url, settings.secret_key, result_of(s, d)).rsplit("/", 1)[1]
    assert verify_token(s, [settings.secret_key], token).outcome == "revoked"
    assert s.scalar(select(PostAudit.status)) == "failed"


def test_post_check_not_applied_when_a_field_is_disputed(seeded, notices, monkeypatch):
    s = seeded
    monkeypatch.setattr(service, "policy_of_dossier", lambda sid, p: dataclasses.replace(
        policy_of_dossier(sid, p), post_check_allowed=True, audit_share=0.0))
    hh = b.household(s)
    head = b.person(s, household=hh)
    d = open_one(s, "poor-household-confirmation", person=head, household=hh, subject_kind="household")
    who = Principal.citizen(head.id)
    service.correct_field(s, d, who, field_name="head_name", value="Đinh Thị Nam", version=d.version)
    service.confirm(s, d, who, supplied={}, linked=None, version=d.version)
    assert d.status == "confirmed" and not d.auto_approved


def test_bad_input_is_refused_and_nothing_applied(seeded, notices):
    s = seeded
    hh = b.household(s)
    head = b.person(s, household=hh)
    d = open_one(s, "poor-household-confirmation", person=head, household=hh, subject_kind="household")
    who = Principal.citizen(head.id)
    officer = officer_of(s, d.handling_unit_code)
    with pytest.raises(IllegalTransition, match="cannot approved|allowed now"):
        service.approve(s, d, officer, version=d.version)  # not confirmed yet
    with pytest.raises(PayloadTooLarge):
        service.add_attachment(s, d, who, kind="x", filename="a.pdf", media_type="application/pdf",
                               content=b"%PDF-" + b"0" * service.MAX_ATTACHMENT_BYTES)
    with pytest.raises(Unprocessable, match="not application/pdf"):
        service.add_attachment(s, d, who, kind="x", filename="a.pdf", media_type="application/pdf",
                               content=b"MZ\x90\x00 not a pdf")
    with pytest.raises(Unprocessable, match="does not match"):
        service.add_attachment(s, d, who, kind="x", filename="a.exe", media_type="image/png",
                               content=b"\x89PNG\r\n\x1a\n....")
    with pytest.raises(Unprocessable, match="come from the registry"):
        service.confirm(s, d, who, supplied={"income_per_person": "1"}, linked=None, version=d.version)
    assert d.status == "offered" and d.event_count == 2
    service.confirm(s, d, who, supplied={}, linked=None, version=d.version)
    with pytest.raises(Conflict):  # double submission (stale version)
        service.confirm(s, d, who, supplied={}, linked=None, version=d.version - 1)
    with pytest.raises(IllegalTransition):  # double submission (current version)
        service.confirm(s, d, who, supplied={}, linked=None, version=d.version)
    police = officer_of(s, "CA-48")
    with pytest.raises(Forbidden, match="agency"):
        service.reject(s, d, police, legal_reason="x", version=d.version)
    with pytest.raises(Unprocessable, match="legal reason"):
        service.reject(s, d, officer, legal_reason=" ", version=d.version)
    other = open_one(s, "poor-household-confirmation", person=head, household=hh, subject_kind="household")
    with pytest.raises(Unprocessable, match="nothing approved"):
        service.bulk_approve(s, officer, [d.code, other.code])  # other is only offered
    assert d.status == "confirmed"
    assert [x.code for x in service.bulk_approve(s, officer, [d.code])] == [d.code]
    assert d.status == "closed"


def test_queue_orders_by_deadline_and_officer_reads_are_logged(seeded, notices, clock):
    s = seeded
    hh = b.household(s)
    head = b.person(s, household=hh)
    who = Principal.citizen(head.id)
    codes = []
    for _ in range(2):
        d = open_one(s, "poor-household-confirmation", person=head, household=hh, subject_kind="household")
        service.confirm(s, d, who, supplied={}, linked=None, version=d.version)
        codes.append(d.code)
        clock.advance(dt.timedelta(days=1))
    officer = officer_of(s, service.get_by_code(s, codes[0]).handling_unit_code)
    assert [x.code for x in service.queue(s, officer)] == codes
    with pytest.raises(Unprocessable):
        service.for_officer(s, officer, codes[0], purpose="")
    service.for_officer(s, officer, codes[0], purpose="xử lý hồ sơ")
    assert s.scalar(select(func.count()).select_from(DataAccessLog)) == 1
    logs = service.access_log_for_person(s, head.id)
    assert logs[0][0].purpose == "xử lý hồ sơ"


def test_any_competent_unit_routing_balances_load(seeded, notices):
    s = seeded
    b.unit_of(s, "CA-48")  # the province police unit exists
    from chudong.dossiers.models import Unit

    s.add(Unit(code="CA-48-2", name="Công an – điểm 2", agency="police", province_code=48, ward_code=None,
               services=["passport-expiry"], capacity_weight=1.0))
    s.flush()
    units = []
    for _ in range(4):
        holder = b.person(s)
        b.licence(s, holder)
        units.append(open_one(s, "passport-expiry", person=holder).handling_unit_code)
    assert sorted(units) == ["CA-48", "CA-48", "CA-48-2", "CA-48-2"]
