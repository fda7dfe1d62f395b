"""The fast paths keep the behaviour: bulk opening by COPY, one-update approvals, the per-transaction calendar."""

import datetime as dt

from sqlalchemy import select

from chudong.dossiers import service
from chudong.dossiers.models import Dossier, DossierEvent
from chudong.identity.principal import Principal
from chudong.workcal.service import set_override

from . import builders as b


def test_bulk_opening_stores_fields_events_and_times_as_the_orm_would(seeded, notices):
    households = [b.household(seeded, ward_index=i % 3) for i in range(12)]
    heads = [b.person(seeded, full_name=f"Trần Văn {i}", ward_index=i % 3) for i in range(12)]
    for h, p in zip(households, heads):
        p.household_id = h.id
    events = [b.life_event(seeded, "poor-household-confirmation", person=p, subject_kind="household", household=h)
              for h, p in zip(households, heads)]
    result = service.open_dossiers(seeded, [e.id for e in events])
    assert result.opened == 12 and len(set(result.codes)) == 12
    seeded.expire_all()
    dossiers = seeded.scalars(select(Dossier).where(Dossier.code.in_(result.codes)).order_by(Dossier.id)).all()
    assert [d.life_event_id for d in dossiers] == [e.id for e in events]
    for d, h in zip(dossiers, households):
        assert d.status == "offered" and d.version == 1 and d.event_count == 2
        assert d.fields["income_per_person"]["value"] == h.income_per_person
        assert d.fields["income_per_person"]["source"] == "registry" and d.fields["income_per_person"]["verified"]
        assert d.title["vi"] and d.opened_at.tzinfo is not None
        assert d.ward_code == h.ward_code and d.handling_unit_code is not None
        evs = seeded.scalars(select(DossierEvent).where(DossierEvent.dossier_id == d.id)
                             .order_by(DossierEvent.seq)).all()
        assert [(e.seq, e.kind) for e in evs] == [(1, "detected"), (2, "offered")]
        assert evs[0].data["life_event_id"] == d.life_event_id and evs[1].data == {}
        assert evs[0].at.tzinfo is not None
    assert {n["step"] for n in notices} == {"offered"} and len(notices) == 12
    again = service.open_dossiers(seeded, [e.id for e in events])
    assert again.opened == 0 and again.skipped == 12


def test_approval_updates_once_and_queues_both_notices_in_order(seeded, notices):
    mother = b.person(seeded)
    vital = b.vital_event(seeded, mother=mother)
    ev = b.life_event(seeded, "birth-registration", person=mother, vital=vital)
    d = service.get_by_code(seeded, service.open_dossiers(seeded, [ev.id]).codes[0])
    service.confirm(seeded, d, Principal.citizen(mother.id), supplied={"child_name": "Lê An",
                                                                        "father_pid": "048090001234"},
                    linked=[], version=d.version)
    o = b.officer(seeded, d.handling_unit_code)
    officer = Principal(kind="officer", id=o.id, label=f"officer:{o.username}", unit_code=o.unit_code,
                        agency=o.agency, role=o.role)
    before, notices[:] = d.version, []
    service.approve(seeded, d, officer, version=d.version)
    assert d.status == "closed" and d.version == before + 1
    assert [(n["step"], n["context"]["status"]) for n in notices] == [("approved", "approved"),
                                                                      ("result_issued", "result_issued")]
    kinds = [e.kind for e in service.timeline(seeded, d)][-3:]
    assert kinds == ["approved", "result_issued", "closed"]


def test_calendar_sees_an_override_set_after_it_was_read_in_the_same_transaction(session, clock):
    monday = dt.date(2026, 11, 9)
    assert service.calendar(session).is_working_day(monday)
    assert service.calendar(session) is service.calendar(session)  # read once per transaction
    set_override(session, monday, "off", "test: a day off decided ad hoc")
    assert not service.calendar(session).is_working_day(monday)
