"""Population registry feed: validation rules, idempotent re-ingest, legacy wards, atomicity."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from chudong.ingest.pipeline import ingest_csv, run_rejections
from chudong.registry.models import Household, IngestRun, Person, QualityIssue, SourceRecord
from tests.ingest.builders import DA_NANG_WARD, agency, csv_body, person_row


def ingest(session, rows, feed="persons", ag=None, body=None):
    ag = ag or agency(session)
    return ingest_csv(session, feed, ag, io.BytesIO(body if body is not None else csv_body(feed, rows)),
                      file_name="t.csv")


def test_valid_persons_are_stored_with_provenance(session, clock):
    r = ingest(session, [person_row(1), person_row(2, full_name="TRẦN  VĂN   ĐỨC", sex="Nam", pid="048090000002",
                                                    birth_date="1990-01-02", phone="+84 905.123.457")])
    assert (r.accepted, r.updated, r.unchanged, r.rejected) == (2, 0, 0, 0)
    p = session.scalar(select(Person).where(Person.pid == "048090000002"))
    assert p.full_name == "Trần Văn Đức" and p.name_key == "tran van duc" and p.sex == "M"
    assert p.phone == "+84905123457" and p.ward_code == DA_NANG_WARD
    src = session.get(SourceRecord, p.source_record_id)
    assert src.person_id == p.id and src.link_method == "pid" and src.agency_code == "police-dn"
    assert src.received_at is not None and '"full_name": "TRẦN  VĂN   ĐỨC"' in src.raw.replace('":"', '": "')
    assert session.get(Household, p.household_id).code == "HH2"


def test_resending_the_same_file_changes_nothing(session, clock):
    ag = agency(session)
    body = csv_body("persons", [person_row(1), person_row(2)])
    first = ingest(session, [], ag=ag, body=body)
    before = session.execute(select(SourceRecord.id, SourceRecord.received_at, SourceRecord.run_id)).all()
    again = ingest(session, [], ag=ag, body=body)
    assert (first.accepted, again.accepted, again.updated, again.unchanged) == (2, 0, 0, 2)
    assert session.execute(select(SourceRecord.id, SourceRecord.received_at, SourceRecord.run_id)).all() == before
    assert session.scalar(select(func.count()).select_from(Person)) == 2


def test_changed_record_is_updated(session, clock):
    ag = agency(session)
    ingest(session, [person_row(1)], ag=ag)
    r = ingest(session, [person_row(1, phone="0905999888"), person_row(2)], ag=ag)
    assert (r.accepted, r.updated, r.unchanged) == (1, 1, 0)
    assert session.scalar(select(Person.phone).where(Person.pid == "048190000001")) == "+84905999888"
    assert session.scalar(select(func.count()).select_from(SourceRecord)) == 2


def _reason(session, r, field):
    hits = [x for x in run_rejections(session, r.run_id) if x.field == field]
    assert hits, f"no rejection on {field}: {run_rejections(session, r.run_id)}"
    return hits[0].reason


def test_defective_ids_keep_the_person_and_raise_an_issue(session, clock):
    rows = [
        person_row(1, pid="04819000001"),                     # 11 digits, zeros cannot be restored consistently
        person_row(2, pid="999190000002"),                    # no such province: an old 12-digit CMND
        person_row(3, pid="048090000003"),                    # 0 = male, record says F
        person_row(4, pid="048285000004"),                    # 2 = 2000s, born 1990
        person_row(5, pid="48190000005"),                     # Excel dropped the leading zero
        person_row(6),                                        # valid
        person_row(7, pid=""),                                # no ID at all
    ]
    r = ingest(session, rows)
    assert (r.accepted, r.rejected) == (7, 0)
    classes = {rec.source_key: rec.normalised["pid_class"] for rec in session.scalars(select(SourceRecord))}
    assert classes == {"P1": "unverified", "P2": "old_id", "P3": "mismatch", "P4": "mismatch", "P5": "restored",
                       "P6": "valid", "P7": None}
    assert session.scalar(select(func.count()).select_from(Person)) == 7
    assert sorted(p for p in session.scalars(select(Person.pid)) if p) == ["048190000005", "048190000006"]
    assert session.scalar(select(Person.old_id_hash).where(Person.old_id == "999190000002")) is not None
    issues = session.execute(select(SourceRecord.source_key, QualityIssue.field, QualityIssue.value_b,
                                    QualityIssue.agency_code, QualityIssue.person_id, QualityIssue.detail)
                             .join(SourceRecord, SourceRecord.id == QualityIssue.source_b)
                             .where(QualityIssue.kind == "identifier")).all()
    got = {k: (f, c, a) for k, f, c, a, _, _ in issues}
    assert got == {"P1": ("pid", "unverified", "police-dn"), "P2": ("pid", "old_id", "police-dn"),
                   "P3": ("pid", "mismatch", "police-dn"), "P4": ("pid", "mismatch", "police-dn"),
                   "P5": ("pid", "restored", "police-dn")}
    assert all(person is not None and " / " in detail for *_, person, detail in issues)
    assert "male" in dict((k, d) for k, *_, d in issues)["P3"]


def test_date_rules(session, clock):
    rows = [
        person_row(1, birth_date="1990-02-30"),                 # not a real date
        person_row(2, birth_date="12/05/1990"),                 # not ISO
        person_row(3, birth_date="2027-01-01", pid="048327000003"),  # future (today 2026-11-02)
        person_row(4, birth_date="1850-01-01", pid="048150000004"),  # implausible
        person_row(5, death_date="1989-01-01"),                 # death before birth
        person_row(6, death_date="2026-01-01"),                 # valid
    ]
    r = ingest(session, rows)
    rej = {x.source_key: x for x in run_rejections(session, r.run_id)}
    assert r.accepted == 1 and set(rej) == {"P1", "P2", "P3", "P4", "P5"}
    assert "real date" in rej["P1"].reason and "YYYY-MM-DD" in rej["P2"].reason
    assert "future" in rej["P3"].reason and "plausible" in rej["P4"].reason
    assert rej["P5"].field == "death_date"


def test_required_fields_sex_ward_phone_email(session, clock):
    rows = [
        person_row(1, full_name=""), person_row(2, sex="X"), person_row(3, ward_code="99999999"),
        person_row(4, phone="12345"), person_row(5, email="not-an-email"), person_row(6, sex="Nữ"),
    ]
    r = ingest(session, rows)
    rej = {x.source_key: x.field for x in run_rejections(session, r.run_id)}
    assert rej == {"P1": "full_name", "P2": "sex", "P3": "ward_code", "P4": "phone", "P5": "email"}
    assert r.accepted == 1


def test_old_ward_code_is_mapped_to_the_2025_ward(session, clock):
    from chudong.geo.models import Ward, WardMapping
    from chudong.geo.service import resolve_ward

    # an old Đà Nẵng ward code that is not also a 2025 code
    legacy = session.scalar(select(WardMapping.legacy_code).join(Ward, Ward.code == WardMapping.new_code)
                            .where(Ward.province_code == 48, WardMapping.is_primary.is_(True),
                                   WardMapping.legacy_code.not_in(select(Ward.code)))
                            .order_by(WardMapping.legacy_code).limit(1))
    expected = resolve_ward(session, legacy).ward_code
    r = ingest(session, [person_row(1, ward_code=str(legacy))])
    assert r.accepted == 1
    p = session.scalar(select(Person))
    assert p.ward_code == expected
    src = session.get(SourceRecord, p.source_record_id)
    assert src.normalised["ward_code_received"] == legacy and src.normalised["ward_code"] == expected


def test_ambiguous_old_ward_uses_primary_and_raises_an_issue(session, clock):
    from chudong.geo.models import WardMapping

    from chudong.geo.models import Ward

    legacy = session.execute(select(WardMapping.legacy_code).where(WardMapping.legacy_code.not_in(select(Ward.code)))
                             .group_by(WardMapping.legacy_code).having(func.count() > 1)
                             .order_by(WardMapping.legacy_code).limit(1)).scalar()
    r = ingest(session, [person_row(1, ward_code=str(legacy))])
    assert r.accepted == 1
    issue = session.scalar(select(QualityIssue).where(QualityIssue.kind == "ambiguous_ward"))
    assert issue.value_a == str(legacy) and issue.agency_code == "police-dn"
    assert "the primary one was used" in issue.detail  # sealed at rest, opened by the column type
    assert issue.person_id == session.scalar(select(Person.id))

    # another feed's record with an ambiguous ward names its holder, found by personal ID number
    utility = agency(session, "evn-dn", "electricity")
    holder = {"source_key": "U1", "utility": "electricity", "customer_no": "PC05-1", "holder_pid": "048190000001",
              "holder_name": "Nguyễn Thị Lan", "holder_birth_date": "1990-05-12", "holder_sex": "F",
              "ward_code": str(legacy)}
    stranger = {**holder, "source_key": "U2", "customer_no": "PC05-2", "holder_pid": ""}
    assert ingest(session, [holder, stranger], feed="utilities", ag=utility).accepted == 2
    issues = session.scalars(select(QualityIssue).where(QualityIssue.kind == "ambiguous_ward",
                                                        QualityIssue.agency_code == "evn-dn")).all()
    assert sorted((i.person_id or 0) for i in issues) == [0, issue.person_id]


def test_duplicate_keys_in_one_file_reject_the_later_records(session, clock):
    r = ingest(session, [person_row(1), person_row(1, full_name="Lê Văn Tám"), person_row(2, pid="048190000001")])
    rej = run_rejections(session, r.run_id)
    assert r.accepted == 1 and [x.line for x in rej] == [3, 4]
    assert "duplicate source_key" in rej[0].reason and "line 2" in rej[0].reason
    assert rej[1].field == "pid"
    assert session.scalar(select(Person.full_name)) == "Nguyễn Thị Lan"


def test_wrong_column_count_rejects_only_that_record(session, clock):
    body = csv_body("persons", [person_row(1), person_row(2)]) + b"P3,048190000003,only three\n"
    r = ingest(session, [], body=body)
    assert (r.accepted, r.rejected) == (2, 1)
    (x,) = run_rejections(session, r.run_id)
    assert x.line == 4 and "3 fields" in x.reason


def test_not_utf8_rejects_the_whole_file_and_stores_nothing(session, clock):
    body = csv_body("persons", [person_row(1), person_row(2)]) + b"P3,048190000003,L\xea Th\xec Hoa\n"  # Latin-1
    r = ingest(session, [], body=body)
    assert r.status == "rejected" and "UTF-8" in r.file_error
    assert session.scalar(select(func.count()).select_from(SourceRecord)) == 0
    assert session.scalar(select(func.count()).select_from(Person)) == 0
    run = session.get(IngestRun, r.run_id)
    assert run.status == "rejected" and run.accepted == 0


def test_rejection_after_many_chunks_rolls_back_earlier_chunks(session, clock):
    ag = agency(session)
    body = csv_body("persons", [person_row(i) for i in range(1, 30)]) + b'P99,"unterminated\n'
    r = ingest_csv(session, "persons", ag, io.BytesIO(body), chunk_size=5)
    assert r.status == "rejected"
    assert session.scalar(select(func.count()).select_from(Person)) == 0


def test_wrong_header_and_utf16_and_empty(session, clock):
    ag = agency(session)
    for body, words in [
        (b"source_key,pid,name\nP1,1,x\n", "missing columns"),
        ("source_key,pid\n".encode("utf-16"), "UTF-16"),
        (b"", "empty"),
    ]:
        r = ingest(session, [], ag=ag, body=body)
        assert r.status == "rejected" and words in r.file_error
