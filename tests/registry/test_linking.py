"""A record linked after ingestion takes its domain row along (licence, utility account, household, birth)."""

from __future__ import annotations

import io

from sqlalchemy import select

from chudong.ingest.pipeline import ingest_csv
from chudong.linkage import service as linkage
from chudong.linkage.models import LinkReview
from chudong.registry.models import Licence, Person, SourceRecord
from tests.ingest.builders import agency, csv_body, person_row
from tests.registry.test_quality import licence_row


def _registry_and_licences(session, n: int):
    ingest_csv(session, "persons", agency(session, "pop", "population"),
               io.BytesIO(csv_body("persons", [person_row(i) for i in range(1, n + 1)])), link=False)
    police = agency(session, "police", "police")
    # no holder ID: these go to probabilistic linkage
    rows = [licence_row(i, holder_pid="") for i in range(1, n + 1)]
    return police, rows


def test_linked_records_set_the_person_of_their_licences_in_one_pass(session, clock, monkeypatch):
    police, rows = _registry_and_licences(session, 3)
    people = session.scalars(select(Person.id).order_by(Person.id)).all()
    calls = []

    def decide(session_, queries, **kw):  # the linkage model's answer, fixed: records 1 and 3 are sure
        calls.append(len(queries))
        by_key = {q.record_id: q for q in queries}
        keys = dict(session_.execute(select(SourceRecord.id, SourceRecord.source_key)
                                     .where(SourceRecord.id.in_(by_key))).all())
        out = []
        for rid in by_key:
            n = int(keys[rid][1:])
            sure = n != 2
            out.append(linkage.LinkResult(rid, people[n - 1] if sure else None, 0.99 if sure else 0.2,
                                          "auto" if sure else "none"))
        return out

    monkeypatch.setattr(linkage, "link_queries", decide)
    ingest_csv(session, "licences", police, io.BytesIO(csv_body("licences", rows)))
    assert calls == [3]  # one batch for the run
    holders = {lic.number: lic.person_id for lic in session.scalars(select(Licence))}
    assert holders == {rows[0]["number"]: people[0], rows[1]["number"]: None, rows[2]["number"]: people[2]}
    methods = dict(session.execute(select(SourceRecord.source_key, SourceRecord.link_method)
                                   .where(SourceRecord.feed == "licences")).all())
    assert methods == {"L1": "probabilistic", "L2": "none", "L3": "probabilistic"}


def test_an_accepted_review_links_the_licence_too(session, clock):
    police, rows = _registry_and_licences(session, 1)
    ingest_csv(session, "licences", police, io.BytesIO(csv_body("licences", rows)), link=False)
    record = session.scalar(select(SourceRecord).where(SourceRecord.feed == "licences"))
    person = session.scalar(select(Person.id))
    assert session.scalar(select(Licence.person_id)) is None
    review = LinkReview(source_record_id=record.id, record_ref=record.id, person_id=person, probability=0.7,
                        status="open", created_at=clock.now())
    session.add(review)
    session.flush()
    linkage.decide_review(session, review.id, accept=True, decided_by="officer@ward")
    session.expire_all()
    assert session.scalar(select(Licence.person_id)) == person
    assert session.get(SourceRecord, record.id).link_method == "review"
