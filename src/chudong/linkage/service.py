"""Link agency records to the person index (the entry point other features call).

``link_queries`` reads the person table once per call, runs the DB-free core
(``chudong.linkage.core.link_dataframe``: personal-ID path, then Splink) and queues the
uncertain band in ``link_review``. It never commits and never writes ``source_record``:
the caller (ingestion) stores ``person_id`` / ``link_method`` / ``link_probability`` on
its own records, which is where each linked field's provenance lives.

Callers resolve pre-2025 ward codes to 2025 codes first
(``chudong.geo.service.ward_lookup_table``) and phones to E.164
(``chudong.kit.phones.normalise_phone``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, Sequence

import pandas as pd
from sqlalchemy import Text, select, type_coerce
from sqlalchemy.orm import Session

from chudong.kit import clock
from chudong.kit.errors import ChudongError, NotFound
from chudong.linkage.core import (
    AUTO_LINK_THRESHOLD,
    OPTIONAL_COLUMNS,
    PERSON_COLUMNS,
    RECORD_COLUMNS,
    REVIEW_THRESHOLD,
    link_dataframe,
)
from chudong.linkage.models import LinkReview
from chudong.privacy.crypto import keyring
from chudong.registry.models import Person, SourceRecord

__all__ = [
    "AUTO_LINK_THRESHOLD",
    "REVIEW_THRESHOLD",
    "LinkQuery",
    "LinkResult",
    "decide_review",
    "link_dataframe",
    "link_queries",
    "load_persons",
    "open_reviews",
]


@dataclass(frozen=True)
class LinkQuery:
    """One record to link, with the holder's data as the sending agency has it."""

    record_id: int  # a source_record id, or any id of the caller's
    full_name: str
    birth_date: dt.date | None
    sex: str | None  # M / F
    ward_code: int | None  # 2025 ward code
    phone: str | None  # E.164
    pid: str | None  # with pid_class: the 12-digit ID of a valid / restored one; without: as sent
    pid_class: str | None = None  # chudong.kit.pid class; None: ``pid`` is read as sent
    old_id: str | None = None  # an old CMND number the record carries


@dataclass(frozen=True)
class LinkResult:
    """The decision for one record: the person (or review candidate) and how sure we are."""

    record_id: int
    person_id: int | None
    probability: float
    decision: Literal["pid", "auto", "review", "none"]


class InvalidThresholds(ChudongError):
    """The auto-link and review thresholds are not 0 < review ≤ auto ≤ 1."""


class ReviewAlreadyDecided(ChudongError):
    """The review item was accepted or rejected before."""

    status_code = 409
    code = "conflict"


def load_persons(session: Session) -> pd.DataFrame:
    """Return the person index as a DataFrame with the columns ``link_dataframe`` needs.

    The ID number and phone are sealed at rest and linkage compares their plaintext (typos,
    blocking on parts of the ID): they are read as stored and opened here in one loop into
    plain tuples, about half the CPU of opening them through the column types into Row
    objects. The plaintext lives only in this process and its in-memory DuckDB database.
    """
    open_ = keyring().open
    stmt = select(
        Person.id, Person.full_name, Person.birth_date, Person.sex, Person.ward_code,
        type_coerce(Person.phone, Text), type_coerce(Person.pid, Text), type_coerce(Person.old_id, Text),
    )
    rows = [(i, name, born, sex, ward, None if phone is None else open_(phone, "phone"),
             None if pid is None else open_(pid, "pid"), None if old is None else open_(old, "pid"))
            for i, name, born, sex, ward, phone, pid, old in session.execute(stmt)]
    return pd.DataFrame(rows, columns=[*PERSON_COLUMNS, "old_id"])


def link_queries(
    session: Session,
    queries: Sequence[LinkQuery],
    *,
    auto_threshold: float = AUTO_LINK_THRESHOLD,
    review_threshold: float = REVIEW_THRESHOLD,
) -> list[LinkResult]:
    """Link each query to a person; queue the uncertain ones in ``link_review`` (no commit).

    Returns one result per query, in the order given.
    """
    if not 0.0 < review_threshold <= auto_threshold <= 1.0:
        raise InvalidThresholds("thresholds must satisfy 0 < review_threshold <= auto_threshold <= 1")
    if not queries:
        return []
    if len({q.record_id for q in queries}) != len(queries):
        raise ChudongError("record_id must be unique within one call", field="record_id")
    columns = [*RECORD_COLUMNS, *OPTIONAL_COLUMNS]
    records = pd.DataFrame([[getattr(q, c) for c in columns] for q in queries], columns=columns)
    persons = load_persons(session)
    out = link_dataframe(records, persons, auto_threshold=auto_threshold, review_threshold=review_threshold)
    by_id = {
        int(row.record_id): LinkResult(
            record_id=int(row.record_id),
            person_id=None if pd.isna(row.person_id) else int(row.person_id),
            probability=float(row.probability),
            decision=row.decision,
        )
        for row in out.itertuples(index=False)
    }
    results = [by_id[q.record_id] for q in queries]
    _queue_reviews(session, [r for r in results if r.decision == "review"])
    return results


def _queue_reviews(session: Session, reviews: list[LinkResult]) -> None:
    """Insert one open ``link_review`` row per uncertain result (once per record and person)."""
    if not reviews:
        return
    ids = [r.record_id for r in reviews]
    known_sources = set(session.scalars(select(SourceRecord.id).where(SourceRecord.id.in_(ids))))
    already = {
        (ref, pid)
        for ref, pid in session.execute(
            select(LinkReview.record_ref, LinkReview.person_id).where(
                LinkReview.record_ref.in_(ids), LinkReview.status == "open"
            )
        )
    }
    now = clock.now()
    for r in reviews:
        if r.person_id is None or (r.record_id, r.person_id) in already:
            continue
        session.add(
            LinkReview(
                source_record_id=r.record_id if r.record_id in known_sources else None,
                record_ref=r.record_id,
                person_id=r.person_id,
                probability=r.probability,
                status="open",
                created_at=now,
            )
        )
    session.flush()


def open_reviews(session: Session, *, limit: int = 100) -> list[LinkReview]:
    """Return open review items, the most probable first."""
    stmt = (
        select(LinkReview)
        .where(LinkReview.status == "open")
        .order_by(LinkReview.probability.desc(), LinkReview.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def decide_review(session: Session, review_id: int, *, accept: bool, decided_by: str) -> LinkReview:
    """Accept or reject a candidate link; on accept, link its source record to the person."""
    review = session.get(LinkReview, review_id)
    if review is None:
        raise NotFound(f"link review {review_id} does not exist")
    if review.status != "open":
        raise ReviewAlreadyDecided(f"link review {review_id} is already {review.status}")
    review.status = "accepted" if accept else "rejected"
    review.decided_by = decided_by
    review.decided_at = clock.now()
    if accept and review.source_record_id is not None:
        record = session.get(SourceRecord, review.source_record_id)
        if record is not None:
            record.person_id = review.person_id
            record.link_method = "review"
            record.link_probability = review.probability
            from chudong.registry.service import set_domain_persons

            # the licence, utility account, household or birth written from the record follows it
            set_domain_persons(session, record.feed, [(record.id, review.person_id)])
    session.flush()
    return review
