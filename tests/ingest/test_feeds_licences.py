"""Licences feed v1.1: driving licence classes by issue date (old and new law), `none` = no expiry, CMND."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from chudong.ingest.pipeline import ingest_csv, run_rejections
from chudong.registry.models import Agency, Licence
from tests.ingest.builders import agency, csv_body, person_row

OLD_CLASSES = ("A1", "A2", "A3", "A4", "B1", "B11", "B2", "C", "D", "E", "FB2", "FC", "FD", "FE")
NEW_CLASSES = ("A1", "A", "B1", "B", "C1", "C", "D1", "D2", "D", "BE", "C1E", "CE", "D1E", "D2E", "DE")


def row(n: int, **over: str) -> dict[str, str]:
    base = {"source_key": f"L{n}", "kind": "driving_licence", "licence_class": "B", "number": f"79{n:010d}",
            "holder_name": "Nguyễn Văn An", "holder_birth_date": "1980-05-01", "holder_sex": "M",
            "issued_on": "2025-03-01", "expires_on": "", "issuing_agency": "Công an TP Đà Nẵng"}
    return {**base, **over}


def ingest(session, rows):
    ag = session.get(Agency, "police-lic") or agency(session, "police-lic", "police")
    return ingest_csv(session, "licences", ag, io.BytesIO(csv_body("licences", rows)), file_name="l.csv")


def test_every_old_class_issued_before_2025_and_every_new_class_after_is_accepted(session, clock):
    rows = [row(i, licence_class=c, issued_on="2018-06-01") for i, c in enumerate(OLD_CLASSES)]
    rows += [row(100 + i, licence_class=c.lower(), issued_on="2025-01-01") for i, c in enumerate(NEW_CLASSES)]
    r = ingest(session, rows)
    assert (r.accepted, r.rejected) == (len(rows), 0), run_rejections(session, r.run_id)
    stored = {(lic.licence_class, lic.issued_on.year) for lic in session.scalars(select(Licence))}
    assert stored == {(c, 2018) for c in OLD_CLASSES} | {(c, 2025) for c in NEW_CLASSES}


def test_the_table_changes_on_1_january_2025(session, clock):
    r = ingest(session, [row(1, licence_class="B2", issued_on="2024-12-31"), row(2, issued_on="2025-01-01")])
    assert (r.accepted, r.rejected) == (2, 0)


@pytest.mark.parametrize(("cls", "issued"), [
    ("B", "2024-12-31"),    # the 2025 class B did not exist yet
    ("B2", "2025-01-01"),   # B2 is no longer issued
    ("X9", "2025-06-01"),
    ("A2", "2008-01-01"),   # before the first table: checked against the earliest one (A2 existed)
])
def test_a_class_not_in_the_table_of_its_issue_date_is_rejected_with_the_list_and_the_law(session, clock, cls, issued):
    r = ingest(session, [row(1, licence_class=cls, issued_on=issued)])
    if cls == "A2":
        assert r.accepted == 1
        return
    [rej] = run_rejections(session, r.run_id)
    assert rej.field == "licence_class"
    assert "không phải hạng giấy phép lái xe" in rej.reason and "is not a driving licence class" in rej.reason
    if issued < "2025-01-01":
        assert "FB2" in rej.reason and "Thông tư 12/2017/TT-BGTVT" in rej.reason and "Circular 12/2017" in rej.reason
    else:
        assert "D1E" in rej.reason and "36/2024/QH15, điều 57" in rej.reason and "art. 57(2)" in rej.reason


def test_unknown_document_kind_is_rejected_with_the_accepted_kinds_and_the_law(session, clock):
    r = ingest(session, [row(1, kind="army_card")])
    [rej] = run_rejections(session, r.run_id)
    assert rej.field == "kind" and "people_id_card" in rej.reason and "transport_licence" in rej.reason
    assert "không phải loại giấy tờ" in rej.reason and "Luật Căn cước 26/2023/QH15" in rej.reason
    assert "Law on Identification 26/2023/QH15" in rej.reason


def test_none_means_no_expiry_and_empty_means_not_supplied(session, clock):
    r = ingest(session, [
        row(1, kind="tour_guide_card", licence_class="", issued_on="2020-05-01", expires_on="none"),
        row(2, kind="tour_guide_card", licence_class="", issued_on="2020-05-01", expires_on=""),
        row(3, kind="tour_guide_card", licence_class="", issued_on="2020-05-01", expires_on="2025-05-01"),
        row(4, kind="people_id_card", licence_class="", number="201234567", issued_on="2010-05-01", expires_on="NONE"),
    ])
    assert r.accepted == 4, run_rejections(session, r.run_id)
    got = {lic.number[-1]: (lic.expires_on, lic.no_expiry) for lic in session.scalars(select(Licence))}
    assert got["1"] == (None, True) and got["2"] == (None, False)
    assert got["3"][1] is False and str(got["3"][0]) == "2025-05-01" and got["7"] == (None, True)


def test_resending_none_as_a_date_updates_the_licence(session, clock):
    ingest(session, [row(1, kind="tour_guide_card", licence_class="", issued_on="2020-05-01", expires_on="none")])
    ingest(session, [row(1, kind="tour_guide_card", licence_class="", issued_on="2020-05-01", expires_on="2025-05-01")])
    lic = session.scalar(select(Licence))
    assert (str(lic.expires_on), lic.no_expiry) == ("2025-05-01", False)


def test_streaming_after_ingestion_offers_the_run_s_licences_due_within_the_horizon(session, clock):
    from chudong.rules.models import LifeEvent
    from chudong.rules.streaming import on_run

    ingest_csv(session, "persons", agency(session), io.BytesIO(csv_body("persons", [person_row(1)])), file_name="p.csv")
    holder = {"holder_pid": "048190000001", "holder_name": "Nguyễn Thị Lan", "holder_birth_date": "1990-05-12",
              "holder_sex": "F"}
    # today 2026-11-02: a C licence expiring in 20 days (its 90- and 30-day notice days have passed),
    # an old B2 whose 10-year term ends in 60 days, and one due next year
    r = ingest(session, [row(1, licence_class="C", issued_on="2021-11-22", expires_on="2026-11-22", **holder),
                         row(2, licence_class="B2", issued_on="2017-01-01", **holder),
                         row(3, licence_class="D", issued_on="2022-11-02", expires_on="2027-11-02", **holder)])
    assert on_run(session, r.run_id, "licences") == {"driving-licence-renewal": 2}
    events = {e.due_date.isoformat(): e for e in session.scalars(select(LifeEvent))}
    assert set(events) == {"2026-11-22", "2027-01-01"}
    assert events["2027-01-01"].reason["facts"]["renewal_class"]["to"] == "C1"
    assert on_run(session, r.run_id, "licences") == {}  # exactly once
