"""Registry rules: agencies and their API keys, linking a run's records, conflicts, data quality.

Services never commit; the request or the CLI's unit of work does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, insert, select, text, type_coerce, update
from sqlalchemy.orm import Session

from chudong.kit import clock
from chudong.kit.bulk import is_postgres
from chudong.kit.errors import Conflict, Unauthorized, Unprocessable
from chudong.registry.models import Agency, Person, QualityIssue, SourceRecord

log = logging.getLogger(__name__)

AGENCY_KINDS = ("population", "commune", "hospital", "health", "police", "education", "tourism", "agriculture",
                "construction", "electricity", "water", "social_insurance")
_CODE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


# -- agencies ----------------------------------------------------------------------------------

def _key_hash(key: str) -> str:
    # The key is 256 random bits: a fast hash is enough (no dictionary attack is possible).
    return hashlib.sha256(key.encode()).hexdigest()


def add_agency(session: Session, code: str, name: str, kind: str) -> tuple[Agency, str]:
    """Create an agency and return it with its new API key (shown once; only its hash is stored)."""
    code = code.strip().lower()
    if not code or not set(code) <= _CODE_CHARS or len(code) > 40:
        raise Unprocessable("agency code must be 1-40 lower-case letters, digits, - or _", field="code")
    if kind not in AGENCY_KINDS:
        raise Unprocessable(f"agency kind {kind!r} must be one of {', '.join(AGENCY_KINDS)}", field="kind")
    if session.get(Agency, code) is not None:
        raise Conflict(f"agency {code} already exists; use `chudong agencies rotate-key {code}` for a new key",
                       field="code")
    agency = Agency(code=code, name=name.strip() or code, kind=kind)
    key = f"{code}.{secrets.token_urlsafe(32)}"
    agency.api_key_hash = _key_hash(key)
    session.add(agency)
    session.flush()
    return agency, key


def rotate_key(session: Session, code: str) -> str:
    """Give an agency a new API key (the old one stops working) and return it."""
    from chudong.ingest.pipeline import get_agency

    agency = get_agency(session, code)
    key = f"{agency.code}.{secrets.token_urlsafe(32)}"
    agency.api_key_hash = _key_hash(key)
    session.flush()
    return key


def authenticate_agency(session: Session, key: str | None) -> Agency:
    """Return the agency whose API key this is, or raise Unauthorized."""
    if not key or "." not in key:
        raise Unauthorized("send the agency API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`")
    code = key.rsplit(".", 1)[0]
    agency = session.get(Agency, code)
    expected = agency.api_key_hash if agency is not None and agency.api_key_hash else _key_hash("-")
    if not hmac.compare_digest(_key_hash(key), expected) or agency is None:
        raise Unauthorized("API key not recognised")
    return agency


def list_agencies(session: Session) -> list[Agency]:
    """Return every agency, by code."""
    return list(session.scalars(select(Agency).order_by(Agency.code)))


# -- after a run: linkage and conflicts --------------------------------------------------------

LINK_METHOD = {"pid": "pid", "auto": "probabilistic", "review": "review", "none": "none"}
# what each feed's normalised record says about its subject, compared with the registry
CONFLICT_FIELDS: dict[str, tuple[str, ...]] = {
    "licences": ("name", "birth_date", "sex", "ward_code"),
    "utilities": ("name", "birth_date", "sex", "ward_code"),
    "building_plans": ("name", "birth_date", "sex"),
    "households": ("ward_code",),
    "births": ("name", "birth_date", "ward_code"),
    "deaths": ("name", "birth_date", "sex"),
}


# where a feed's record keeps its subject's facts (births: the mother; deaths: the deceased)
_FACTS_AT: dict[str, str] = {"births": "mother", "deaths": "deceased"}


def _facts(feed: str, norm: dict) -> dict:
    """Return the subject's facts of a normalised record (births: the mother)."""
    at = _FACTS_AT.get(feed)
    return (norm.get(at) or {}) if at else norm


def after_run(session: Session, run_id: int, feed: str, link: bool = True) -> None:
    """Link a run's records that have no exact ID link, then surface conflicts with the registry."""
    # The persons feed is the registry itself: every record is its own golden record (a person
    # even when its ID number is missing or defective), so there is nothing to link probabilistically.
    if link and feed != "persons":
        link_run(session, run_id, feed)
    if feed in CONFLICT_FIELDS:
        raise_conflicts(session, run_id, feed)


def link_run(session: Session, run_id: int, feed: str) -> int:
    """Send the run's unlinked records to probabilistic linkage in one batch; return how many linked.

    The uncertain band is queued for review by the linkage feature (``link_review``); the
    record keeps link_method "review" and no person until a human decides.
    """
    rows = session.execute(
        select(SourceRecord.id, SourceRecord.normalised)
        .where(SourceRecord.run_id == run_id, SourceRecord.person_id.is_(None))
    ).all()
    if not rows:
        return 0
    from chudong.linkage.service import LinkQuery, link_queries

    queries = []
    for rid, norm in rows:
        f = _facts(feed, norm)
        birth = f.get("birth_date")
        queries.append(LinkQuery(
            record_id=rid, full_name=f.get("name") or f.get("full_name") or "",
            birth_date=dt.date.fromisoformat(birth) if birth else None, sex=f.get("sex"),
            ward_code=f.get("ward_code"), phone=f.get("phone"), pid=f.get("pid"),
            pid_class=f.get("pid_class"), old_id=f.get("old_id"),
        ))
    results = link_queries(session, queries)
    changes = []
    links: list[tuple[int, int]] = []
    for r in results:
        person = r.person_id if r.decision in ("pid", "auto") else None
        changes.append({"id": r.record_id, "person_id": person, "link_method": LINK_METHOD.get(r.decision, "none"),
                        "link_probability": r.probability})
        if person is not None:
            links.append((r.record_id, person))
    session.execute(update(SourceRecord), changes)
    set_domain_persons(session, feed, links)
    session.flush()
    return len(links)


def set_domain_persons(session: Session, feed: str, links: list[tuple[int, int]]) -> None:
    """Set the person of the domain rows written from these source records ((record id, person id) pairs).

    One statement for all of them on PostgreSQL (a statement per record, each a look-up by
    ``source_record_id``, was the slow part of linking a large file); SQLite runs it per pair.
    """
    from chudong.ingest.pipeline import PERSON_COLUMN

    target = PERSON_COLUMN.get(feed)
    if target is None or not links:
        return
    table, column = target
    if is_postgres(session):
        session.execute(text(f"UPDATE {table} SET {column} = v.p FROM unnest(CAST(:r AS bigint[]), "
                             f"CAST(:p AS bigint[])) AS v(r, p) WHERE {table}.source_record_id = v.r"),
                        {"r": [r for r, _ in links], "p": [p for _, p in links]})
    else:
        session.execute(text(f"UPDATE {table} SET {column} = :p WHERE source_record_id = :r"),
                        [{"r": r, "p": p} for r, p in links])


def _name_words(key: str | None) -> tuple[str, ...]:
    # Order is a format difference (given name first), not a conflict: compare the words.
    return tuple(sorted((key or "").split()))


_CONFLICT_BATCH = 10_000  # rows fetched at a time: a run of millions is compared in bounded memory


def raise_conflicts(session: Session, run_id: int, feed: str) -> int:
    """Record a conflict for every fact of the run's linked records that differs from the registry.

    Only what is compared is read: the registry's plain columns and the record's facts, taken out
    of the normalised JSON by the database (none of them is sealed, so nothing is decrypted), in
    batches; new issues are inserted in one statement.
    """
    from chudong.kit.names import name_key

    fields = CONFLICT_FIELDS[feed]
    existing = {
        (q.source_b, q.field): q
        for q in session.scalars(select(QualityIssue).join(SourceRecord, SourceRecord.id == QualityIssue.source_b)
                                 .where(SourceRecord.run_id == run_id, QualityIssue.kind == "conflict"))
    }
    doc = type_coerce(SourceRecord.normalised, JSON)  # the stored JSON as it is, not opened
    at = (_FACTS_AT[feed],) if feed in _FACTS_AT else ()
    rows = session.execute(
        select(SourceRecord.id, SourceRecord.agency_code, Person.id, Person.full_name, Person.name_key,
               Person.birth_date, Person.sex, Person.ward_code, Person.source_record_id,
               *(doc[(*at, fld)].as_string() for fld in fields))
        .join(Person, Person.id == SourceRecord.person_id)
        .where(SourceRecord.run_id == run_id)
        .execution_options(yield_per=_CONFLICT_BATCH)
    )
    now = clock.now()
    words: dict[str, tuple[str, ...]] = {}  # a name as the agency has it → the words of its key
    new: list[dict] = []
    for rid, agency, person_id, full_name, key, birth_date, sex, ward_code, source_a, *theirs_all in rows:
        for fld, theirs in zip(fields, theirs_all):
            if theirs is None:
                continue
            b = str(theirs)
            if fld == "name":
                mine = words.get(b)
                if mine is None:
                    if len(words) > 200_000:
                        words.clear()
                    mine = words[b] = _name_words(name_key(b))
                differs = mine != _name_words(key)
                a = full_name
            elif fld == "birth_date":
                a = birth_date.isoformat()
                differs = a != b
            elif fld == "ward_code":
                a = str(ward_code) if ward_code is not None else None
                differs = a is not None and a != b
            else:
                a = sex
                differs = a != b
            issue = existing.get((rid, fld))
            if differs:
                if issue is None:
                    new.append({"kind": "conflict", "person_id": person_id, "field": fld, "value_a": a,
                                "source_a": source_a, "value_b": b, "source_b": rid, "agency_code": agency,
                                "status": "open", "created_at": now,
                                "detail": f"{agency} has {fld} {b!r}; the population registry has {a!r}"})
                elif issue.status != "open" or issue.value_a != a or issue.value_b != b:
                    if issue.value_a != a or issue.value_b != b:
                        issue.status = "open"
                    issue.value_a, issue.value_b = a, b
            elif issue is not None and issue.status == "open":
                issue.status = "resolved"
                issue.detail += f" — resolved by a later record ({now.date().isoformat()})"
    if new:
        session.execute(insert(QualityIssue), new)
    session.flush()
    return len(new)


# -- data quality ------------------------------------------------------------------------------

@dataclass(frozen=True)
class IssueView:
    """A quality issue with both values and where each came from."""

    id: int
    kind: str
    agency_code: str | None
    person_id: int | None
    field: str
    value_a: str | None
    source_a: str | None  # "agency/feed/source_key"
    value_b: str | None
    source_b: str | None
    status: str
    detail: str
    created_at: dt.datetime


def _source_label(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(SourceRecord.id, SourceRecord.agency_code, SourceRecord.feed,
                                  SourceRecord.source_key).where(SourceRecord.id.in_(ids))).all()
    return {r.id: f"{r.agency_code}/{r.feed}/{r.source_key}" for r in rows}


def list_quality_issues(session: Session, agency_code: str | None = None, status: str | None = "open",
                        kind: str | None = None, limit: int = 1000) -> list[IssueView]:
    """Return quality issues (newest first), optionally of one agency, status or kind."""
    stmt = select(QualityIssue).order_by(QualityIssue.id.desc()).limit(limit)
    if agency_code:
        stmt = stmt.where(QualityIssue.agency_code == agency_code)
    if status:
        stmt = stmt.where(QualityIssue.status == status)
    if kind:
        stmt = stmt.where(QualityIssue.kind == kind)
    issues = list(session.scalars(stmt))
    labels = _source_label(session, {i for q in issues for i in (q.source_a, q.source_b) if i is not None})
    return [IssueView(q.id, q.kind, q.agency_code, q.person_id, q.field, q.value_a, labels.get(q.source_a or -1),
                      q.value_b, labels.get(q.source_b or -1), q.status, q.detail, q.created_at) for q in issues]


def issue_counts(session: Session, status: str = "open") -> list[tuple[str | None, str, int]]:
    """Return (agency, kind, count) of quality issues with ``status``."""
    rows = session.execute(text(
        "SELECT agency_code, kind, count(*) FROM quality_issue WHERE status = :s GROUP BY agency_code, kind "
        "ORDER BY agency_code, kind"), {"s": status}).all()
    return [(r[0], r[1], int(r[2])) for r in rows]


def set_issue_status(session: Session, issue_id: int, status: str) -> QualityIssue:
    """Mark a quality issue resolved or dismissed (or reopen it)."""
    from chudong.kit.errors import NotFound

    if status not in ("open", "resolved", "dismissed"):
        raise Unprocessable("status must be open, resolved or dismissed", field="status")
    issue = session.get(QualityIssue, issue_id)
    if issue is None:
        raise NotFound(f"no quality issue {issue_id}")
    issue.status = status
    session.flush()
    return issue


@dataclass(frozen=True)
class FieldCompleteness:
    """How often a field of a feed is filled in the records currently held."""

    feed: str
    field: str
    filled: int
    total: int

    @property
    def ratio(self) -> float:
        """Return filled / total (1.0 for an empty feed)."""
        return self.filled / self.total if self.total else 1.0


def _feed_fields(session: Session, feed: str) -> list[str]:
    sample = session.scalar(select(SourceRecord.normalised).where(SourceRecord.feed == feed).limit(1))
    if not sample:
        return []
    return [k for k in sample if k not in ("name_key", "ward_code_received")]


def completeness(session: Session, agency_code: str | None = None) -> list[FieldCompleteness]:
    """Return, per feed and field, how many stored records have the field filled."""
    pg = session.get_bind().dialect.name == "postgresql"
    where = "WHERE feed = :feed" + (" AND agency_code = :agency" if agency_code else "")
    feeds = [f for (f,) in session.execute(text("SELECT DISTINCT feed FROM source_record ORDER BY feed"))]
    out: list[FieldCompleteness] = []
    for feed in feeds:
        fields = _feed_fields(session, feed)
        if not fields:
            continue
        parts = []
        for i, name in enumerate(fields):
            if pg:
                expr = f"(normalised -> '{name}')"
                parts.append(f"SUM(CASE WHEN {expr} IS NOT NULL AND {expr}::text NOT IN ('null', '\"\"') "
                             f"THEN 1 ELSE 0 END) AS f{i}")
            else:
                expr = f"json_extract(normalised, '$.{name}')"
                parts.append(f"SUM(CASE WHEN {expr} IS NOT NULL AND {expr} != '' THEN 1 ELSE 0 END) AS f{i}")
        row = session.execute(text(f"SELECT count(*), {', '.join(parts)} FROM source_record {where}"),
                              {"feed": feed, "agency": agency_code}).one()
        total = int(row[0])
        if total == 0:
            continue
        out.extend(FieldCompleteness(feed, name, int(row[i + 1] or 0), total) for i, name in enumerate(fields))
    return out


def quality_report(session: Session, agency_code: str | None = None) -> dict[str, Any]:
    """Return the data-quality report: open issues per agency and completeness per feed and field."""
    issues = list_quality_issues(session, agency_code=agency_code, status="open", limit=10_000)
    per_agency: dict[str, list[dict]] = {}
    for q in issues:
        per_agency.setdefault(q.agency_code or "-", []).append({
            "id": q.id, "kind": q.kind, "person_id": q.person_id, "field": q.field,
            "registry_value": q.value_a, "registry_source": q.source_a,
            "agency_value": q.value_b, "agency_source": q.source_b, "detail": q.detail,
        })
    return {
        "generated_at": clock.now().isoformat(timespec="seconds"),
        "issues": per_agency,
        "completeness": [
            {"feed": c.feed, "field": c.field, "filled": c.filled, "total": c.total, "ratio": round(c.ratio, 4)}
            for c in completeness(session, agency_code)
        ],
    }


def person_provenance(session: Session, person_id: int) -> list[dict]:
    """Return every record linked to a person: agency, feed, key, receipt time, link method and probability."""
    rows = session.execute(
        select(SourceRecord).where(SourceRecord.person_id == person_id).order_by(SourceRecord.received_at)
    ).scalars()
    return [{"record_id": r.id, "agency": r.agency_code, "feed": r.feed, "source_key": r.source_key,
             "received_at": r.received_at.isoformat(), "link_method": r.link_method,
             "link_probability": r.link_probability, "normalised": r.normalised} for r in rows]


def dumps(data: Any) -> str:
    """Serialise a report to JSON (dates as ISO text)."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)
