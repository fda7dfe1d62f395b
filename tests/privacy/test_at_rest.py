"""Personal data is sealed in the database, readable through the ORM, searchable by hashes, rotatable."""

import datetime as dt
import json

import pytest
from sqlalchemy import insert, select

from chudong.kit import clock
from chudong.notifications.models import Notification
from chudong.notifications.service import enqueue
from chudong.privacy import service as privacy
from chudong.privacy.crypto import KeyRing, SealError, keyring, use_keyring
from chudong.registry.models import (
    NORMALISED_SEALED, Agency, Household, IngestRejection, IngestRun, Licence, Person, SourceRecord,
)

PID, PHONE, EMAIL, INCOME = "048090012345", "+84912345678", "an.nguyen@example.vn", 1_234_567
WARD = 20194


def ring(*kids: str, search: bytes = b"s" * 32) -> KeyRing:
    return KeyRing([(k, (k * 32).encode()[:32]) for k in kids], search)


def populate(session, pid: str = PID, phone: str = PHONE, email: str = EMAIL) -> Person:
    """Write one of every protected value through the ORM and Core, as the features do."""
    if session.get(Agency, "pop") is None:
        session.add(Agency(code="pop", name="pop", kind="population"))
        session.flush()
    record = {"pid": pid, "full_name": "Nguyễn Văn An", "phone": phone, "email": email,
              "income_per_person": INCOME, "mother": {"pid": pid, "cmnd": "201234567", "name": "Trần Thị B"}}
    src = SourceRecord(feed="persons", agency_code="pop", source_key=f"k-{pid}", received_at=clock.now(),
                       content_hash=keyring().content_hash(privacy.compact_json(record)), raw=json.dumps(record), normalised=record)
    session.add(src)
    session.flush()
    p = Person(pid=pid, full_name="Nguyễn Văn An", name_key="nguyen van an", birth_date=dt.date(1990, 1, 2),
               sex="M", ward_code=WARD, phone=phone, email=email, source_record_id=src.id)
    session.add(p)
    session.flush()
    session.add(Household(code=f"HH-{pid}", ward_code=WARD, area_type="rural", head_person_id=p.id,
                          income_per_person=INCOME, survey_date=dt.date(2026, 9, 1)))
    session.add(Licence(kind="passport", number=f"P{pid}", person_id=p.id, holder_pid=pid,
                        issued_on=dt.date(2020, 1, 1), issuing_agency="police"))
    run = IngestRun(feed="persons", agency_code="pop", started_at=clock.now())
    session.add(run)
    session.flush()
    session.execute(insert(IngestRejection), [{"run_id": run.id, "line": 2, "field": "pid", "reason": f"personal ID number {pid!r} is wrong",
                                               "record": f"k1,{pid},{phone}"}])
    enqueue(session, event_key=f"otp:{pid}", step="otp", person_id=p.id, template_id="otp",
            context={"code": "123456", "minutes": 10}, urgent=True, mandatory=True)
    session.flush()
    return p


RAW_QUERIES = [
    "SELECT pid, phone, email, pid_hash, phone_hash, email_hash FROM person",
    "SELECT income_per_person FROM household",
    "SELECT holder_pid FROM licence",
    "SELECT raw, CAST(normalised AS TEXT) FROM source_record",
    "SELECT record, reason FROM ingest_rejection",
    "SELECT CAST(destinations AS TEXT), CAST(rendered AS TEXT) FROM notification",
]


def raw_dump(session) -> str:
    conn = session.connection()
    return "\n".join(str(value) for q in RAW_QUERIES for row in conn.exec_driver_sql(q) for value in row)


def test_stored_bytes_hold_no_personal_data(session, clock):
    populate(session)
    dump = raw_dump(session)
    assert "v1.dev." in dump
    for secret in (PID, PHONE, "912345678", EMAIL, str(INCOME), "201234567", "123456"):  # 123456: the one-time code
        assert secret not in dump, secret
    # the non-sensitive parts of a record stay readable JSON (completeness, rules)
    assert '"full_name"' in dump and '"mother"' in dump


def test_orm_and_core_read_the_plaintext(session, clock):
    p = populate(session)
    session.expunge_all()
    person = session.get(Person, p.id)
    assert (person.pid, person.phone, person.email) == (PID, PHONE, EMAIL)
    assert session.scalar(select(Household.income_per_person)) == INCOME
    assert session.scalar(select(Licence.holder_pid)) == PID
    rec = session.scalar(select(SourceRecord))
    assert rec.normalised["pid"] == PID and rec.normalised["income_per_person"] == INCOME
    assert rec.normalised["mother"] == {"pid": PID, "cmnd": "201234567", "name": "Trần Thị B"}
    assert json.loads(rec.raw)["phone"] == PHONE
    assert session.scalar(select(IngestRejection.record)) == f"k1,{PID},{PHONE}"
    assert session.scalar(select(Notification)).destinations["sms"] == PHONE
    core = session.execute(select(Person.__table__).where(Person.__table__.c.id == p.id)).one()
    assert core.pid == PID


def test_lookups_by_pid_phone_and_email_go_through_the_search_hashes(session, clock):
    p = populate(session)
    populate(session, pid="049190054321", phone="+84987654321", email="b@example.vn")
    assert session.scalar(select(Person.id).where(Person.pid == PID)) == p.id
    assert session.scalar(select(Person.id).where(Person.phone == PHONE)) == p.id
    assert session.scalar(select(Person.id).where(Person.email == EMAIL)) == p.id
    assert len(session.scalars(select(Person.id).where(Person.pid.in_([PID, "049190054321"]))).all()) == 2
    assert session.scalar(select(Person.id).where(Person.pid == "048090099999")) is None
    with pytest.raises(TypeError, match="encrypted"):
        select(Person).where(Person.pid > "0")
    with pytest.raises(TypeError, match="no search hash"):
        select(Licence).where(Licence.holder_pid == PID)


def test_changing_a_value_through_the_orm_moves_its_search_hash(session, clock):
    p = populate(session)
    p.phone = "+84900000001"
    session.flush()
    assert session.scalar(select(Person.id).where(Person.phone == "+84900000001")) == p.id
    assert session.scalar(select(Person.id).where(Person.phone == PHONE)) is None


def test_a_second_person_with_the_same_pid_is_refused_by_the_unique_hash(session, clock):
    from sqlalchemy.exc import IntegrityError

    populate(session)
    session.add(Person(pid=PID, full_name="X", name_key="x", birth_date=dt.date(1990, 1, 2), sex="M"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_rotation_reseals_everything_and_both_keys_read(session, clock):
    with use_keyring(ring("k1")):
        p = populate(session)
    conn = session.connection()
    with use_keyring(ring("k2", "k1")) as both:
        report = privacy.run(conn, "rotate")
        assert report.changed["person.pid"] == 1 and report.changed["notification.destinations"] == 1
        check = privacy.run(conn, "check")
        for name in privacy.protected_names():
            assert set(check.key_counts(name)) <= {"k2"}, (name, check.key_counts(name))
        assert not check.hashes_wrong
        assert privacy.run(conn, "rotate").changed == {}  # idempotent
        assert both.current == "k2"
    with use_keyring(ring("k2")):  # the old key can now go
        session.expunge_all()
        person = session.get(Person, p.id)
        assert person.pid == PID and session.scalar(select(SourceRecord)).normalised["phone"] == PHONE
        assert session.scalar(select(Person.id).where(Person.pid == PID)) == p.id


def test_a_value_sealed_with_a_key_no_longer_configured_is_a_clear_error(session, clock):
    with use_keyring(ring("k1")):
        p = populate(session)
    session.expunge_all()
    with use_keyring(ring("k2")), pytest.raises(SealError, match="data key 'k1', which is not configured"):
        session.get(Person, p.id)


def test_rehash_after_a_search_key_change_restores_lookups(session, clock):
    with use_keyring(ring("k1", search=b"a" * 32)):
        p = populate(session)
    conn = session.connection()
    with use_keyring(ring("k1", search=b"b" * 32)):
        assert session.scalar(select(Person.id).where(Person.pid == PID)) is None
        stale = privacy.run(conn, "check")
        assert stale.hashes_wrong["person.pid"] == 1 and stale.hashes_wrong["source_record.normalised"] == 1
        done = privacy.run(conn, "rehash")
        assert done.changed["person.pid"] == 1
        assert session.scalar(select(Person.id).where(Person.pid == PID)) == p.id
        assert session.scalar(select(Person.id).where(Person.email == EMAIL)) == p.id
        assert not privacy.run(conn, "check").hashes_wrong
        assert privacy.run(conn, "rehash").changed == {}


def test_model_and_service_agree_on_the_sealed_record_fields():
    assert dict(NORMALISED_SEALED) == privacy.RECORD_FIELDS
