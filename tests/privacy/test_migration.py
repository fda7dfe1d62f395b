"""Revision 20261122_0010 seals the plaintext of a populated database, and its downgrade opens it again."""

from __future__ import annotations

import hashlib
import json
from typing import Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from chudong.db import downgrade, pending_migrations, session_factory, upgrade
from chudong.privacy.crypto import keyring
from chudong.registry.models import Household, Person, SourceRecord
from tests.privacy.scratch import scratch_engine

BEFORE = "20261121_0009"
PID, PHONE, EMAIL = "048090012345", "+84912345678", "an@example.vn"
NORMALISED = {"pid": PID, "full_name": "Nguyễn Văn An", "phone": PHONE, "email": EMAIL, "ward_code": 20194,
              "income_per_person": 1500000}
NORM_TEXT = json.dumps(NORMALISED, ensure_ascii=False, separators=(",", ":"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A database migrated to the revision before encryption, holding plaintext personal data."""
    with scratch_engine(request.param, tmp_path, "chudong_test_privacy") as engine:
        yield from _filled(engine)


def _filled(engine: Engine) -> Iterator[Engine]:
    upgrade(engine, BEFORE)
    now = "2026-11-02 02:00:00+00:00"
    from chudong.geo.service import load_units

    with session_factory(engine)() as s:
        load_units(s)
        s.commit()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO agency (code, name, kind) VALUES ('pop', 'pop', 'population')"))
        conn.execute(text("INSERT INTO person (id, pid, full_name, name_key, birth_date, sex, ward_code, phone, email) "
                          "VALUES (1, :pid, 'Nguyễn Văn An', 'nguyen van an', '1990-01-02', 'M', 20194, :ph, :em)"),
                     {"pid": PID, "ph": PHONE, "em": EMAIL})
        conn.execute(text("INSERT INTO source_record (id, feed, agency_code, source_key, received_at, content_hash, "
                          "raw, normalised, person_id) VALUES (1, 'persons', 'pop', 'k1', :now, :h, :raw, :norm, 1)"),
                     {"now": now, "h": hashlib.sha256(NORM_TEXT.encode()).hexdigest(), "raw": f"k1,{PID},{PHONE}",
                      "norm": NORM_TEXT})
        conn.execute(text("UPDATE person SET source_record_id = 1"))
        conn.execute(text("INSERT INTO household (id, code, ward_code, area_type, head_person_id, income_per_person) "
                          "VALUES (1, 'HH1', 20194, 'urban', 1, 1500000)"))
        conn.execute(text("UPDATE person SET household_id = 1"))
        conn.execute(text("INSERT INTO licence (kind, number, person_id, holder_pid, issued_on, issuing_agency, "
                          "revoked) VALUES ('passport', 'P1', 1, :pid, '2020-01-01', 'police', false)"), {"pid": PID})
        conn.execute(text("INSERT INTO ingest_run (id, feed, agency_code, file_name, status, accepted, updated, "
                          "unchanged, rejected, started_at) VALUES (1, 'persons', 'pop', 'f', 'done', 1, 0, 0, 1, :now)"),
                     {"now": now})
        conn.execute(text("INSERT INTO ingest_rejection (run_id, field, reason, record) "
                          "VALUES (1, 'pid', :why, :rec)"), {"rec": f"k2,{PID}9,{PHONE}", "why": f"{PHONE} is not valid"})
        conn.execute(text(
            "INSERT INTO notification (event_key, step, recipient_key, person_id, service, template_id, "
            "template_version, template_hash, language, urgent, mandatory, channels, channel_index, channel, "
            "destinations, rendered, status, attempts, due_at, created_at, updated_at) VALUES ('e', 's', 'person:1', "
            "1, '', 'otp', 1, 'h', 'vi', true, true, '[\"sms\"]', 0, 'sms', :dest, '{}', 'queued', 0, :now, :now, :now)"),
            {"dest": json.dumps({"sms": PHONE, "email": EMAIL}), "now": now})
    yield engine


def _dump(engine: Engine) -> str:
    queries = ["SELECT pid, phone, email FROM person", "SELECT CAST(income_per_person AS TEXT) FROM household",
               "SELECT holder_pid FROM licence", "SELECT raw, CAST(normalised AS TEXT) FROM source_record",
               "SELECT record, reason FROM ingest_rejection", "SELECT CAST(destinations AS TEXT) FROM notification"]
    with engine.connect() as conn:
        return "\n".join(str(v) for q in queries for row in conn.exec_driver_sql(q) for v in row)


def test_upgrade_seals_existing_rows_and_downgrade_restores_them(old_db: Engine):
    assert PID in _dump(old_db)
    upgrade(old_db)
    assert pending_migrations(old_db) == []
    dump = _dump(old_db)
    for secret in (PID, PHONE, EMAIL, "1500000"):
        assert secret not in dump, secret
    with session_factory(old_db)() as s:
        person = s.scalar(select(Person).where(Person.pid == PID))
        assert person is not None and (person.phone, person.email) == (PHONE, EMAIL)
        assert s.scalar(select(Person.id).where(Person.phone == PHONE)) == 1
        assert s.scalar(select(Household.income_per_person)) == 1500000
        rec = s.get(SourceRecord, 1)
        assert rec.normalised == NORMALISED and rec.raw == f"k1,{PID},{PHONE}"
        # a re-sent record is still recognised as unchanged: the keyed digest covers the same text
        assert rec.content_hash == keyring().content_hash(NORM_TEXT)
    upgrade(old_db)  # nothing pending: a no-op

    downgrade(old_db, BEFORE)
    assert PID in _dump(old_db) and "v1." not in _dump(old_db)
    with old_db.connect() as conn:
        assert conn.execute(text("SELECT income_per_person FROM household")).scalar() == 1500000
        assert json.loads(conn.execute(text("SELECT destinations FROM notification")).scalar()
                          if old_db.dialect.name == "sqlite" else
                          json.dumps(conn.execute(text("SELECT destinations FROM notification")).scalar())) \
            == {"sms": PHONE, "email": EMAIL}
        norm = conn.execute(text("SELECT CAST(normalised AS TEXT), content_hash FROM source_record")).one()
        assert json.loads(norm[0]) == NORMALISED
        assert norm[1] == hashlib.sha256(NORM_TEXT.encode()).hexdigest()
    upgrade(old_db)  # and once more up, from the restored plaintext
    with session_factory(old_db)() as s:
        assert s.scalar(select(Person.email).where(Person.pid == PID)) == EMAIL
