"""The person index's references hold on both databases.

SQLite has them as foreign keys; PostgreSQL checks them once per statement (migration
20261204_0015). The same writes must be refused on both, and PostgreSQL's message must name
the table, the column and the value.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from chudong.ingest.pipeline import ingest_csv
from chudong.registry.models import Household, IngestRun, Person, SourceRecord
from tests.ingest.builders import DA_NANG_WARD, agency, csv_body, person_row


def _loaded(session):
    ag = agency(session)
    r = ingest_csv(session, "persons", ag, io.BytesIO(csv_body("persons", [person_row(1), person_row(2)])))
    assert r.accepted == 2
    session.flush()
    return session.scalars(select(Person).order_by(Person.id)).all()


def _refused(session, sql: str, params: dict, *words: str) -> None:
    savepoint = session.begin_nested()
    with pytest.raises(IntegrityError) as caught:
        session.execute(text(sql), params)
    savepoint.rollback()
    if session.get_bind().dialect.name == "postgresql":
        message = str(caught.value.orig)
        for word in words:
            assert word in message, message


def test_a_person_in_a_ward_or_household_that_does_not_exist_is_refused(session, clock):
    person = _loaded(session)[0]
    _refused(session, "UPDATE person SET ward_code = 999999 WHERE id = :id", {"id": person.id},
             "person.ward_code = 999999", "ward")
    _refused(session, "UPDATE person SET household_id = 987654321 WHERE id = :id", {"id": person.id},
             "person.household_id = 987654321")
    _refused(session, "INSERT INTO person (id, full_name, name_key, birth_date, sex, ward_code) "
                      "VALUES (987654321, 'X', 'x', '2000-01-01', 'M', 999998)", {}, "person.ward_code = 999998")
    # a valid change of the same columns goes through
    other = session.scalar(select(Household.id).where(Household.id != person.household_id))
    session.execute(text("UPDATE person SET household_id = :h, ward_code = :w WHERE id = :id"),
                    {"h": other, "w": DA_NANG_WARD, "id": person.id})


def test_a_source_record_of_an_unknown_person_agency_or_run_is_refused(session, clock):
    person = _loaded(session)[0]
    record = session.get(SourceRecord, person.source_record_id)
    for column, value in (("person_id", 987654321), ("agency_code", "no-such-agency"), ("run_id", 987654321)):
        _refused(session, f"UPDATE source_record SET {column} = :v WHERE id = :id", {"v": value, "id": record.id},
                 f"source_record.{column} = {value}")


def test_deleting_or_rekeying_what_is_referred_to_is_refused(session, clock):
    people = _loaded(session)
    first = people[0]
    _refused(session, "DELETE FROM person WHERE id = :id", {"id": first.id}, "person id", "source_record.person_id")
    _refused(session, "UPDATE person SET id = 987654321 WHERE id = :id", {"id": first.id}, "still referred to")
    _refused(session, "DELETE FROM household WHERE id = :id", {"id": first.household_id}, "person.household_id")
    # a ward that only a person refers to (the real ones are also referred to by the ward mapping)
    from chudong.geo.models import Ward

    ward = session.get(Ward, DA_NANG_WARD)
    session.add(Ward(**{**{c.key: getattr(ward, c.key) for c in Ward.__table__.columns}, "code": 999990}))
    session.flush()
    session.execute(text("UPDATE person SET ward_code = 999990 WHERE id = :id"), {"id": people[1].id})
    _refused(session, "DELETE FROM ward WHERE code = 999990", {}, "ward code = 999990", "person.ward_code")
    run = session.scalar(select(IngestRun.id))
    _refused(session, "DELETE FROM ingest_run WHERE id = :id", {"id": run}, "source_record.run_id")
    agency(session, "other-agency")  # (the run still names police-dn: only a source record names this one)
    session.execute(text("UPDATE source_record SET agency_code = 'other-agency' WHERE id = :id"),
                    {"id": first.source_record_id})
    _refused(session, "DELETE FROM agency WHERE code = 'other-agency'", {}, "source_record.agency_code")
    # what nothing refers to any more can go
    session.execute(text("UPDATE source_record SET person_id = NULL WHERE person_id = :id"), {"id": first.id})
    session.execute(text("DELETE FROM person WHERE id = :id"), {"id": first.id})
    assert session.scalar(select(func.count()).select_from(Person)) == len(people) - 1
