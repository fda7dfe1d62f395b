"""Fast paths of bulk ingestion: COPY text, flat JSON, chunk classification, the writer thread, validators."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from chudong.ingest import bulk
from chudong.ingest import pipeline
from chudong.ingest.feeds import Rejected, parse_phone, parse_pid
from chudong.ingest.pipeline import dumps_flat, ingest_csv, run_rejections
from chudong.kit.bulk import is_postgres
from chudong.kit.phones import InvalidPhone, normalise_phone
from chudong.kit.pid import read_identifier
from chudong.registry.models import Person, SourceRecord
from tests.ingest.builders import agency, csv_body, person_row

_reference = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def test_copy_text_escapes_what_copy_gives_a_meaning():
    rows = [("plain", 1, None), ("tab\there", -2, "new\nline"), ("back\\slash", 0, "cr\rend"), ("", 3, "Đà Nẵng")]
    data = b"".join(bulk.copy_text(rows)).decode()
    assert data.split("\n") == [
        "plain\t1\t\\N", "tab\\there\t-2\tnew\\nline", "back\\\\slash\t0\tcr\\rend", "\t3\tĐà Nẵng", ""]


def test_stage_round_trips_awkward_values(session):
    stage = bulk.Stage(session, "test_stage_awkward", [("a", "text"), ("b", "int"), ("c", "json")])
    rows = [("tab\there\\ and \"quotes\"", 7, '{"k":"v\\\\n"}'), (None, None, None), ("Nguyễn\nThị", -1, "[1,2]")]
    stage.load(rows)
    back = session.execute(text("SELECT a, b, c FROM test_stage_awkward WHERE b IS NOT NULL ORDER BY b")).all()
    assert [(a, b) for a, b, _ in back] == [("Nguyễn\nThị", -1), ("tab\there\\ and \"quotes\"", 7)]
    nulls = session.execute(text("SELECT a, c FROM test_stage_awkward WHERE b IS NULL")).all()
    assert [tuple(r) for r in nulls] == [(None, None)]
    assert [json.loads(c) if isinstance(c, str) else c for _, _, c in back][:2] == [[1, 2], {"k": "v\\n"}]
    stage.load(rows[:1])  # a second load replaces the first
    assert session.execute(text("SELECT count(*) FROM test_stage_awkward")).scalar_one() == 1
    stage.drop()


_scalars = st.one_of(st.none(), st.text(), st.integers(), st.booleans(),
                     st.floats(allow_nan=False, allow_infinity=False))


@given(st.dictionaries(st.text(), st.one_of(_scalars, st.lists(st.integers()), st.dictionaries(st.text(), _scalars))))
@settings(max_examples=200, deadline=None)
def test_dumps_flat_is_the_json_encoder(record):
    assert dumps_flat(record) == _reference(record)


@given(st.text(alphabet="0123456789 .", min_size=0, max_size=14), st.dates(dt.date(1890, 1, 1), dt.date(2120, 1, 1)),
       st.sampled_from(["M", "F", None]), st.booleans())
@settings(max_examples=400, deadline=None)
def test_pid_fast_path_agrees_with_kit(value, birth, sex, with_birth):
    born = birth if with_birth else None
    fields, issue = parse_pid(value, "pid", born, sex)
    reading = read_identifier(value, born, sex)
    if reading is None:
        assert (fields, issue) == ({"pid": None, "pid_class": None}, None)
        return
    assert fields == reading.fields()
    if reading.clean:
        assert issue is None
    else:
        assert issue == ("pid", reading.kind, f"{reading.reason_vi} / {reading.reason}")


@given(st.text(alphabet="0123456789+ .", min_size=0, max_size=13))
@settings(max_examples=300, deadline=None)
def test_phone_fast_path_agrees_with_kit(value):
    if not value:
        assert parse_phone(value, "phone") is None
        return
    try:
        expected = normalise_phone(value)
    except InvalidPhone as exc:
        with pytest.raises(Rejected) as got:
            parse_phone(value, "phone")
        assert got.value.reason == str(exc)
    else:
        assert parse_phone(value, "phone") == expected


def test_many_chunks_count_new_updated_unchanged_and_keep_ids(session, clock):
    ag = agency(session)
    first = ingest_csv(session, "persons", ag, io.BytesIO(csv_body("persons", [person_row(i) for i in range(1, 11)])),
                       chunk_size=3)
    assert (first.accepted, first.updated, first.unchanged) == (10, 0, 0)
    ids = dict(session.execute(select(SourceRecord.source_key, SourceRecord.id)).all())
    people = dict(session.execute(select(Person.pid, Person.id)).all())
    rows = [person_row(i, phone="0905000111") if i % 2 else person_row(i) for i in range(1, 14)]
    again = ingest_csv(session, "persons", ag, io.BytesIO(csv_body("persons", rows)), chunk_size=3)
    assert (again.accepted, again.updated, again.unchanged) == (3, 5, 5)
    after = dict(session.execute(select(SourceRecord.source_key, SourceRecord.id)).all())
    assert {k: after[k] for k in ids} == ids and len(after) == 13
    assert {p: i for p, i in session.execute(select(Person.pid, Person.id)).all() if p in people} == people
    for p in session.scalars(select(Person)):
        src = session.get(SourceRecord, p.source_record_id)
        assert src.person_id == p.id and src.normalised["pid"] == p.pid
        assert p.phone == ("+84905000111" if int(p.pid[-6:]) % 2 else "+84905123456")
    changed = session.scalar(select(SourceRecord).where(SourceRecord.source_key == "P1"))
    assert changed.run_id == again.run_id and changed.normalised["phone"] == "+84905000111"
    same = session.scalar(select(SourceRecord).where(SourceRecord.source_key == "P2"))
    assert same.run_id == first.run_id


@pytest.mark.parametrize("step", ["write", "write_direct"])
def test_a_write_error_stops_the_run_and_is_raised(session, clock, monkeypatch, step):
    def broken(self, rows):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline.CsvRun, step, broken)
    if step == "write":  # on PostgreSQL new persons would go direct: stage them all
        monkeypatch.setattr(pipeline.CsvRun, "prepare", lambda self, *a: None)
    ag = agency(session)
    if step == "write_direct" and not is_postgres(session):  # SQLite stages every record
        r = ingest_csv(session, "persons", ag, io.BytesIO(csv_body("persons", [person_row(1)])))
        assert r.accepted == 1
        return
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_csv(session, "persons", ag, io.BytesIO(csv_body("persons", [person_row(i) for i in range(1, 8)])),
                   chunk_size=2)


def test_values_longer_than_the_person_columns_reject_only_that_record(session, clock):
    ag = agency(session)
    rows = [person_row(1, full_name="Nguyễn " + "Văn " * 40 + "An"), person_row(2, zalo_id="z" * 65),
            person_row(3, ethnicity="K" * 41), person_row(4)]
    r = ingest_csv(session, "persons", ag, io.BytesIO(csv_body("persons", rows)))
    assert (r.accepted, r.rejected) == (1, 3)
    assert {x.source_key: x.field for x in run_rejections(session, r.run_id)} == {
        "P1": "full_name", "P2": "zalo_id", "P3": "ethnicity"}
    assert session.scalar(select(func.count()).select_from(Person)) == 1


def test_registry_records_with_odd_but_valid_forms_are_normalised(session, clock):
    ag = agency(session)
    nfd_female = "N\u0075\u031b\u0303"  # "Nữ" decomposed
    rows = [person_row(1, sex=nfd_female, pid=" 048190000001 ", phone="+84 905 123 456", ward_code=" 20194"),
            person_row(2, birth_date=" 1990-05-12 ", death_date="2020-01-01")]
    r = ingest_csv(session, "persons", ag, io.BytesIO(csv_body("persons", rows)))
    assert (r.accepted, r.rejected) == (2, 0), run_rejections(session, r.run_id)
    p1 = session.scalar(select(Person).where(Person.pid == "048190000001"))
    assert (p1.sex, p1.phone, p1.ward_code) == ("F", "+84905123456", 20194)
    p2 = session.scalar(select(Person).where(Person.pid == "048190000002"))
    assert p2.birth_date == dt.date(1990, 5, 12) and p2.death_date == dt.date(2020, 1, 1)


def _written(session) -> tuple[list, list, list]:
    """Return the persons, source records and households as plain values (ids mapped to keys)."""
    session.expire_all()
    from chudong.registry.models import Household

    codes = dict(session.execute(select(Household.id, Household.code)).all())
    keys = dict(session.execute(select(SourceRecord.id, SourceRecord.source_key)).all())
    people = sorted((p.pid, p.full_name, p.name_key, p.birth_date, p.sex, p.ethnicity, p.ward_code,
                     codes.get(p.household_id), p.phone, p.phone_hash, p.email, p.email_hash, p.zalo_id,
                     p.death_date, keys[p.source_record_id]) for p in session.scalars(select(Person)))
    pids = dict(session.execute(select(Person.id, Person.pid)).all())
    records = sorted((r.feed, r.agency_code, r.source_key, r.received_at, r.content_hash, r.raw, r.normalised,
                      pids[r.person_id], r.link_method, r.link_probability)  # (run ids differ: the first pass rolled back)
                     for r in session.scalars(select(SourceRecord)))
    households = sorted(session.execute(select(Household.code, Household.ward_code, Household.area_type)).all())
    assert households
    return people, records, households


def test_direct_copy_writes_what_the_staged_path_writes(session, clock, monkeypatch):
    """New persons skip the stage on PostgreSQL; what lands is what the staged path would have written."""
    ag = agency(session)
    rows = [person_row(i, household_code=f"HH{i // 3}", email="lan.nguyen@example.vn" if i % 2 else "",
                       full_name='Lê "Tab\tBack\\slash" Thị Lan' if i == 4 else "Nguyễn Thị Lan",
                       death_date="2020-01-02" if i == 5 else "", zalo_id="" if i % 3 else f"z{i}")
            for i in range(1, 12)]
    rows[6]["household_code"] = ""
    body = csv_body("persons", rows)
    update = csv_body("persons", [person_row(2, phone="0905000111"), person_row(20)])

    def load() -> tuple:
        first = ingest_csv(session, "persons", ag, io.BytesIO(body), chunk_size=4)
        again = ingest_csv(session, "persons", ag, io.BytesIO(update), chunk_size=4)
        assert (first.accepted, first.rejected, again.accepted, again.updated) == (11, 0, 1, 1)
        return _written(session)

    direct_calls = []
    original = pipeline.CsvRun.write_direct
    monkeypatch.setattr(pipeline.CsvRun, "write_direct",  # (counted once written: a chunk assumed new may fail)
                        lambda self, records: (original(self, records), direct_calls.append(len(records))))
    savepoint = session.begin_nested()
    with_direct = load()
    savepoint.rollback()
    monkeypatch.setattr(pipeline.CsvRun, "prepare", lambda self, *a: None)  # every record staged
    staged = load()
    assert sum(direct_calls) == (12 if is_postgres(session) else 0)
    # the sealed raw record differs (a fresh nonce each time): compare everything else, then the plaintext
    assert with_direct[0] == staged[0] and with_direct[2] == staged[2]
    strip = [r[:5] + r[6:] for r in with_direct[1]], [r[:5] + r[6:] for r in staged[1]]
    assert strip[0] == strip[1]
    assert [json.loads(r[5]) if r[5].startswith("{") else r[5] for r in with_direct[1]] == \
        [json.loads(r[5]) if r[5].startswith("{") else r[5] for r in staged[1]]
    tab = next(p for p in with_direct[0] if p[1].startswith("Lê"))
    assert '"' in tab[1] and "\\" in tab[1]  # quotes and backslashes survive COPY's escaping


def test_bulk_interpreter_settings_are_restored_after_the_last_run():
    import gc
    import sys

    before = (gc.isenabled(), sys.getswitchinterval())
    with pipeline.bulk_interpreter():
        with pipeline.bulk_interpreter():  # a second, concurrent run
            assert not gc.isenabled() and sys.getswitchinterval() < before[1]
        assert not gc.isenabled()  # the first run is still going
    assert (gc.isenabled(), sys.getswitchinterval()) == before
    with pytest.raises(RuntimeError):
        with pipeline.bulk_interpreter():
            raise RuntimeError("a failing run")
    assert (gc.isenabled(), sys.getswitchinterval()) == before


def test_a_chunk_assumed_new_falls_back_when_a_record_is_stored(session, clock, monkeypatch):
    """A first load writes chunks without look-ups; a stored record sends its chunk the careful way."""
    tries = []
    original = pipeline.CsvRun.flush_new
    monkeypatch.setattr(pipeline.CsvRun, "flush_new",
                        lambda self, pending: tries.append(original(self, pending)) or tries[-1])
    ag = agency(session)
    first = ingest_csv(session, "persons", ag, io.BytesIO(csv_body("persons", [person_row(i) for i in range(1, 5)])),
                       chunk_size=2)
    assert (first.accepted, first.updated) == (4, 0)
    pg = is_postgres(session)
    assert tries == ([True, True] if pg else [])
    tries.clear()
    # P9 is new; stored key P2 now carries another ID number (its person is new, its record is not):
    # the person COPY succeeds, the source record COPY fails, and the savepoint takes both back
    again = ingest_csv(session, "persons", ag,
                       io.BytesIO(csv_body("persons", [person_row(9), person_row(2, pid="048190000012")])),
                       chunk_size=2)
    assert (again.accepted, again.updated, again.rejected) == (1, 1, 0)
    assert tries == ([False] if pg else [])
    pids = set(session.scalars(select(Person.pid)))
    assert pids == {f"048190{n:06d}" for n in (1, 2, 3, 4, 9, 12)}
    moved = session.scalar(select(SourceRecord).where(SourceRecord.source_key == "P2"))
    assert moved.normalised["pid"] == "048190000012"
    assert session.get(Person, moved.person_id).pid == "048190000012"
    assert session.scalar(select(func.count()).select_from(SourceRecord)) == 5


def test_the_connection_ids_are_drawn_on_goes_back_to_the_pool(session, clock, monkeypatch):
    """Direct-path ids come from a pooled connection of the validating thread's own: never kept."""
    pool = session.get_bind().pool
    ag = agency(session)
    session.connection()  # the run's own connection is checked out from here on
    before = pool.checkedout()
    opened = []
    original = pipeline._Numbers.__init__
    monkeypatch.setattr(pipeline._Numbers, "__init__", lambda self, *a: (original(self, *a), opened.append(self))[0])
    pg = is_postgres(session)

    ok = ingest_csv(session, "persons", ag, io.BytesIO(csv_body("persons", [person_row(i) for i in range(1, 8)])),
                    chunk_size=3)
    assert ok.accepted == 7 and pool.checkedout() == before
    # the rows' ids are the drawn ones, in file order (3 per draw: one range each)
    ids = [session.scalar(select(Person.id).where(Person.pid == f"048190{i:06d}")) for i in range(1, 8)]
    assert ids == sorted(ids)
    # a file rejected half-way (broken quoting after the first chunk went out)
    broken = csv_body("persons", [person_row(i) for i in range(10, 16)]) + b'P99,"unterminated\n'
    bad = ingest_csv(session, "persons", ag, io.BytesIO(broken), chunk_size=3)
    assert bad.status == "rejected" and pool.checkedout() == before
    # a write error
    monkeypatch.setattr(pipeline.CsvRun, "flush", lambda self, pending: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        ingest_csv(session, "persons", ag, io.BytesIO(csv_body("persons", [person_row(i) for i in range(20, 26)])),
                   chunk_size=3)
    assert pool.checkedout() == before
    assert len(opened) == (3 if pg else 0)  # SQLite stages every record: no ids drawn ahead


def test_a_persons_record_with_another_sealed_field_is_still_sealed_on_the_direct_path(session, clock, monkeypatch):
    """The direct path spells out the persons record's own sealed fields; any other one is sealed too."""
    import dataclasses

    from chudong.ingest.feeds import CSV_FEEDS

    spec = CSV_FEEDS["persons"]

    def with_cmnd(row, ctx):
        valid = spec.validate(row, ctx)
        valid.normalised["cmnd"] = "201234567"  # an old 9-digit ID number: sealed like a pid
        return valid

    monkeypatch.setitem(CSV_FEEDS, "persons", dataclasses.replace(spec, validate=with_cmnd))
    r = ingest_csv(session, "persons", agency(session), io.BytesIO(csv_body("persons", [person_row(1), person_row(2)])))
    assert r.accepted == 2
    stored = session.execute(text("SELECT normalised FROM source_record")).scalars().all()
    for value in stored:
        doc = value if isinstance(value, dict) else json.loads(value)
        assert doc["cmnd"].startswith("v1.") and doc["pid"].startswith("v1.") and "201234567" not in json.dumps(doc)
    assert {s.normalised["cmnd"] for s in session.scalars(select(SourceRecord))} == {"201234567"}


def test_defective_ids_and_old_ids_are_written_alike_by_every_path(session, clock, monkeypatch):
    """Records kept with a defective or old ID (and the registry's old CMND) land the same on every path:
    SQLite staged, PostgreSQL staged, PostgreSQL direct COPY."""
    from chudong.registry.models import QualityIssue

    ag = agency(session)
    defective = {2: "04819000002", 3: "999190000003", 4: "048090000004", 5: "48190000005", 6: "", 7: "X-7"}
    rows = [person_row(i, pid=defective.get(i, f"048190{i:06d}"), cmnd="201234567" if i in (1, 3, 8) else "")
            for i in range(1, 10)]
    body = csv_body("persons", rows, optional=("cmnd",))
    update = csv_body("persons", [person_row(2, pid="048190000002"), person_row(6, phone="0905000111")])

    def load() -> tuple:
        first = ingest_csv(session, "persons", ag, io.BytesIO(body), chunk_size=4)
        again = ingest_csv(session, "persons", ag, io.BytesIO(update), chunk_size=4)
        assert (first.accepted, first.rejected, again.accepted, again.updated) == (9, 0, 0, 2)
        session.expire_all()
        keys = dict(session.execute(select(SourceRecord.id, SourceRecord.source_key)).all())
        people = sorted((keys[p.source_record_id], p.pid, p.pid_hash, p.old_id, p.old_id_hash, p.full_name,
                         p.phone) for p in session.scalars(select(Person)))
        owner = {p.id: keys[p.source_record_id] for p in session.scalars(select(Person))}
        records = sorted((r.source_key, r.normalised, owner[r.person_id], r.link_method)
                         for r in session.scalars(select(SourceRecord)))
        issues = sorted((keys[q.source_b], q.field, q.value_b, q.status, owner.get(q.person_id))
                        for q in session.scalars(select(QualityIssue)))
        return people, records, issues

    savepoint = session.begin_nested()
    with_direct = load()
    savepoint.rollback()
    monkeypatch.setattr(pipeline.CsvRun, "prepare", lambda self, *a: None)  # every record staged
    staged = load()
    assert with_direct == staged
    people, records, issues = staged
    by_key = {p[0]: p for p in people}
    assert len(people) == 9  # every record kept as a person of its own
    assert by_key["P2"][1] == "048190000002"  # a later record gave the person first kept without an ID its ID
    assert by_key["P5"][1] == "048190000005"  # restored
    # P3: a 12-digit CMND in the pid column is its old ID; a different one in the cmnd column is flagged
    assert by_key["P3"][1] is None and by_key["P3"][3] == "999190000003"
    assert {p[0]: p[3] for p in people if p[3]} == {"P1": "201234567", "P3": "999190000003", "P8": "201234567"}
    assert all(p[4] is not None for p in people if p[3] is not None)  # searchable by hash, the pid's kind:
    from chudong.privacy.crypto import keyring

    assert by_key["P1"][4] == keyring().blind("pid", "201234567")  # a record's old_id matches it
    assert session.scalar(select(func.count()).select_from(Person).where(Person.old_id == "201234567")) == 2
    assert sorted(i[:4] for i in issues) == [
        ("P2", "pid", "unverified", "resolved"), ("P3", "cmnd", "unverified", "open"),
        ("P3", "pid", "old_id", "open"), ("P4", "pid", "mismatch", "open"), ("P5", "pid", "restored", "open"),
        ("P7", "pid", "unverified", "open")]
