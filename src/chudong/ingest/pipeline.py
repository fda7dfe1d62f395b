"""The ingestion pipeline: validate every record, write good ones set-based, report the rest.

One run = one file (or HTTP body) of one feed from one agency:

1. stream and validate in Python (``reader`` + ``feeds``); a bad record becomes a rejection
   (line, field, reason) and never stops the others; a key seen twice in the file rejects
   the later record;
2. every ``CHUNK`` valid records are staged (COPY on PostgreSQL) and moved with a few
   ``INSERT … SELECT … ON CONFLICT`` statements: records whose content hash did not change
   are left alone (idempotent re-sends), new ones are inserted, changed ones updated;
3. after the last chunk: records without an exact personal-ID link go to probabilistic
   linkage in one batch, and linked records are compared with the registry (conflicts).

All data writes of a run happen inside one savepoint: a file-level problem found at any
point (encoding, broken quoting) rolls the whole file back, and the run is recorded as
rejected with the reason.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.orm import Session

from chudong.db import UTCDateTime
from chudong.geo.service import ward_lookup_table
from chudong.ingest import bulk
from chudong.ingest.feeds import CSV_FEEDS, FHIR_FEEDS, Context, Rejected, Valid, feed_agency_kinds
from chudong.ingest.reader import FileRejected, UnknownFeed, read_csv
from chudong.kit import clock
from chudong.kit.errors import Forbidden, NotFound
from chudong.registry.models import Agency, IngestRejection, IngestRun

CHUNK = 20_000
RECORD_PREVIEW = 500  # characters of a rejected record kept in the report

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass
class RejectionRow:
    """One line of a rejection report."""

    line: int | None
    source_key: str | None
    field: str
    reason: str
    record: str = ""


@dataclass
class RunResult:
    """What a run did: counts, status and the rejection report."""

    run_id: int
    feed: str
    agency_code: str
    status: str  # done / rejected
    accepted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    file_error: str | None = None
    rejections: list[RejectionRow] = field(default_factory=list)

    def summary(self) -> dict:
        """Return the counts as a JSON-ready dict (the HTTP response body)."""
        return {
            "run_id": self.run_id, "feed": self.feed, "agency": self.agency_code, "status": self.status,
            "accepted": self.accepted, "updated": self.updated, "unchanged": self.unchanged,
            "rejected": self.rejected, "file_error": self.file_error,
            "rejections_url": f"/api/v1/feeds/runs/{self.run_id}/rejections",
        }


# -- per-feed SQL ------------------------------------------------------------------------------
# Every stage has the common columns below, then the feed's own (taken from the normalised
# record by name). Statements refer to the stage as {stg}.

COMMON = [("source_key", "text"), ("content_hash", "text"), ("raw", "text"), ("normalised", "json"),
          ("pid", "text"), ("ward_code", "int"), ("ward_received", "int"), ("ward_ambiguous", "int"),
          ("rec_id", "int"), ("old_hash", "text")]

DOMAIN_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "persons": [("full_name", "text"), ("name_key", "text"), ("birth_date", "date"), ("sex", "text"),
                ("ethnicity", "text"), ("household_code", "text"), ("phone", "text"), ("email", "text"),
                ("zalo_id", "text"), ("death_date", "date")],
    "households": [("household_code", "text"), ("area_type", "text"), ("income_per_person", "int"),
                   ("survey_date", "date"), ("deprivations", "json")],
    "licences": [("kind", "text"), ("licence_class", "text"), ("number", "text"), ("issued_on", "date"),
                 ("expires_on", "date"), ("issuing_agency", "text")],
    "schools": [("school_code", "text"), ("name", "text"), ("level", "text"), ("catchment", "json")],
    "utilities": [("utility", "text"), ("customer_no", "text")],
    "building_plans": [("parcel", "text"), ("declared_on", "date"), ("details", "json")],
}
JSON_DOMAIN = {"deprivations", "catchment", "details"}

# run before the source records are written (persons: the golden record points at them)
BEFORE_SQL: dict[str, list[str]] = {
    "persons": [
        """INSERT INTO household (code, ward_code, area_type)
           SELECT s.household_code, MIN(s.ward_code),
                  MIN(CASE WHEN w.area_class = 'urban' THEN 'urban' ELSE 'rural' END)
           FROM {stg} s JOIN ward w ON w.code = s.ward_code
           WHERE s.household_code IS NOT NULL GROUP BY s.household_code
           ON CONFLICT (code) DO NOTHING""",
        """INSERT INTO person (pid, full_name, name_key, birth_date, sex, ethnicity, ward_code, household_id,
                               phone, email, zalo_id, death_date, source_record_id)
           SELECT s.pid, s.full_name, s.name_key, s.birth_date, s.sex, s.ethnicity, s.ward_code, h.id,
                  s.phone, s.email, s.zalo_id, s.death_date, s.rec_id
           FROM {stg} s LEFT JOIN household h ON h.code = s.household_code WHERE true
           ON CONFLICT (pid) DO UPDATE SET full_name = excluded.full_name, name_key = excluded.name_key,
             birth_date = excluded.birth_date, sex = excluded.sex, ethnicity = excluded.ethnicity,
             ward_code = excluded.ward_code, household_id = excluded.household_id, phone = excluded.phone,
             email = excluded.email, zalo_id = excluded.zalo_id, death_date = excluded.death_date,
             source_record_id = excluded.source_record_id""",
    ],
}

AFTER_SQL: dict[str, list[str]] = {
    "households": [
        """INSERT INTO household (code, ward_code, area_type, head_person_id, income_per_person, survey_date,
                                  deprivations, source_record_id)
           SELECT s.household_code, s.ward_code, s.area_type, p.id, s.income_per_person, s.survey_date,
                  s.deprivations, s.rec_id
           FROM {stg} s LEFT JOIN person p ON p.pid = s.pid WHERE true
           ON CONFLICT (code) DO UPDATE SET ward_code = excluded.ward_code, area_type = excluded.area_type,
             head_person_id = excluded.head_person_id, income_per_person = excluded.income_per_person,
             survey_date = excluded.survey_date, deprivations = excluded.deprivations,
             source_record_id = excluded.source_record_id""",
    ],
    "licences": [
        """INSERT INTO licence (kind, licence_class, number, person_id, holder_pid, issued_on, expires_on,
                                issuing_agency, revoked, source_record_id)
           SELECT s.kind, s.licence_class, s.number, p.id, s.pid, s.issued_on, s.expires_on,
                  s.issuing_agency, false, s.rec_id
           FROM {stg} s LEFT JOIN person p ON p.pid = s.pid WHERE true
           ON CONFLICT (kind, number) DO UPDATE SET licence_class = excluded.licence_class,
             person_id = excluded.person_id, holder_pid = excluded.holder_pid, issued_on = excluded.issued_on,
             expires_on = excluded.expires_on, issuing_agency = excluded.issuing_agency,
             source_record_id = excluded.source_record_id""",
    ],
    "schools": [
        """INSERT INTO school (code, name, level, ward_code, catchment, source_record_id)
           SELECT s.school_code, s.name, s.level, s.ward_code, s.catchment, s.rec_id FROM {stg} s WHERE true
           ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level,
             ward_code = excluded.ward_code, catchment = excluded.catchment,
             source_record_id = excluded.source_record_id""",
    ],
    "utilities": [
        """INSERT INTO utility_customer (utility, customer_no, person_id, ward_code, source_record_id)
           SELECT s.utility, s.customer_no, p.id, s.ward_code, s.rec_id
           FROM {stg} s LEFT JOIN person p ON p.pid = s.pid WHERE true
           ON CONFLICT (utility, customer_no) DO UPDATE SET person_id = excluded.person_id,
             ward_code = excluded.ward_code, source_record_id = excluded.source_record_id""",
    ],
    "building_plans": [
        """INSERT INTO building_plan (person_id, parcel, ward_code, declared_on, details, source_record_id)
           SELECT p.id, s.parcel, s.ward_code, s.declared_on, s.details, s.rec_id
           FROM {stg} s LEFT JOIN person p ON p.pid = s.pid WHERE true
           ON CONFLICT (source_record_id) DO UPDATE SET person_id = excluded.person_id,
             parcel = excluded.parcel, ward_code = excluded.ward_code, declared_on = excluded.declared_on,
             details = excluded.details""",
    ],
}

# domain tables whose person column is filled by probabilistic linkage after the run
PERSON_COLUMN: dict[str, tuple[str, str]] = {
    "households": ("household", "head_person_id"),
    "licences": ("licence", "person_id"),
    "utilities": ("utility_customer", "person_id"),
    "building_plans": ("building_plan", "person_id"),
}

_MARK_EXISTING = """UPDATE {stg} SET rec_id = r.id, old_hash = r.content_hash FROM source_record r
    WHERE r.feed = :feed AND r.agency_code = :agency AND r.source_key = {stg}.source_key"""

_UPSERT_SOURCE = """INSERT INTO source_record (id, feed, agency_code, source_key, received_at, content_hash, raw,
        normalised, person_id, link_method, link_probability, run_id)
    SELECT s.rec_id, :feed, :agency, s.source_key, :now, s.content_hash, s.raw, s.normalised, p.id,
           CASE WHEN p.id IS NULL THEN NULL ELSE 'pid' END, CASE WHEN p.id IS NULL THEN NULL ELSE 1.0 END, :run
    FROM {stg} s LEFT JOIN person p ON p.pid = s.pid WHERE true
    ON CONFLICT (id) DO UPDATE SET received_at = excluded.received_at, content_hash = excluded.content_hash,
        raw = excluded.raw, normalised = excluded.normalised, person_id = excluded.person_id,
        link_method = excluded.link_method, link_probability = excluded.link_probability, run_id = excluded.run_id"""

_AMBIGUOUS_WARDS = """INSERT INTO quality_issue (kind, person_id, field, value_a, source_a, value_b, source_b,
        agency_code, status, detail, created_at)
    SELECT 'ambiguous_ward', p.id, 'ward_code', CAST(s.ward_received AS TEXT), NULL, CAST(s.ward_code AS TEXT),
           s.rec_id, :agency, 'open',
           'pre-2025 ward code split across several 2025 wards; the primary one was used', :now
    FROM {stg} s LEFT JOIN person p ON p.pid = s.pid
    WHERE s.ward_ambiguous = 1 AND NOT EXISTS (
        SELECT 1 FROM quality_issue q WHERE q.kind = 'ambiguous_ward' AND q.source_b = s.rec_id)"""


def _bind(sql: str, stg: str, now: bool = False):
    stmt = text(sql.format(stg=stg))
    if now:
        stmt = stmt.bindparams(bindparam("now", type_=UTCDateTime()))
    return stmt


class CsvRun:
    """The state of one CSV run: stage, seen keys, counts and rejections."""

    def __init__(self, session: Session, feed: str, agency: str, run: IngestRun) -> None:
        self.session = session
        self.feed = CSV_FEEDS[feed]
        self.agency = agency
        self.run = run
        self.now = clock.now()
        self.domain = DOMAIN_COLUMNS[feed]
        self.stage = bulk.Stage(session, f"ingest_stage_{feed}", COMMON + self.domain)
        self.pg = self.stage.pg
        self.seen_keys: dict[str, int] = {}
        self.seen_natural: dict[str, int] = {}
        self.rejections: list[RejectionRow] = []
        self.accepted = self.updated = self.unchanged = 0

    def reject(self, line: int, key: str | None, field_name: str, reason: str, fields: list[str]) -> None:
        """Record one rejected record."""
        self.rejections.append(RejectionRow(line, key, field_name, reason, ",".join(fields)[:RECORD_PREVIEW]))

    def row(self, valid: Valid, raw: dict[str, str]) -> tuple:
        """Return the stage tuple of a valid record."""
        norm = valid.normalised
        normalised = _dumps(norm)
        digest = hashlib.sha256(normalised.encode()).hexdigest()
        domain = []
        for name, _ in self.domain:
            value = norm.get(name)
            if name in JSON_DOMAIN:
                value = _dumps(value if name != "details" else {"floors": norm.get("floors"),
                                                                 "floor_area_m2": norm.get("floor_area_m2")})
            domain.append(value)
        return (valid.source_key, digest, _dumps(raw), normalised, valid.pid, norm.get("ward_code"),
                valid.ward_received, 1 if valid.ward_ambiguous else 0, None, None, *domain)

    def write_chunk(self, rows: list[tuple]) -> None:
        """Move one chunk of staged records into the tables; count accepted / updated / unchanged."""
        if not rows:
            return
        s = self.session
        stg = self.stage.name
        self.stage.load(rows)
        params = {"feed": self.feed.name, "agency": self.agency}
        s.execute(_bind(_MARK_EXISTING, stg), params)
        unchanged = s.execute(text(f"DELETE FROM {stg} WHERE old_hash = content_hash")).rowcount
        updated = s.execute(text(f"SELECT count(*) FROM {stg} WHERE rec_id IS NOT NULL")).scalar_one()
        self.unchanged += unchanged
        self.updated += updated
        self.accepted += len(rows) - unchanged - updated
        if len(rows) == unchanged:
            return
        # Number the new source records before writing them, so the golden record (persons)
        # can point at its source record in the same pass (that foreign key is deferred).
        if self.pg:
            s.execute(text(f"UPDATE {stg} SET rec_id = nextval(pg_get_serial_sequence('source_record', 'id')) "
                           "WHERE rec_id IS NULL"))
        else:
            base = s.execute(text("SELECT COALESCE(MAX(id), 0) FROM source_record")).scalar_one()
            s.execute(text(f"UPDATE {stg} SET rec_id = :base + rowid WHERE rec_id IS NULL"), {"base": base})
        for sql in BEFORE_SQL.get(self.feed.name, []):
            s.execute(_bind(sql, stg))
        s.execute(_bind(_UPSERT_SOURCE, stg, now=True), {**params, "now": self.now, "run": self.run.id})
        for sql in AFTER_SQL.get(self.feed.name, []):
            s.execute(_bind(sql, stg))
        s.execute(_bind(_AMBIGUOUS_WARDS, stg, now=True), {"agency": self.agency, "now": self.now})


def check_agency_may_send(agency: Agency, feed: str) -> None:
    """Raise unless ``feed`` exists and ``agency``'s kind may send it."""
    if feed not in CSV_FEEDS and feed not in FHIR_FEEDS:
        raise UnknownFeed(f"unknown feed {feed!r}; feeds are: {', '.join([*CSV_FEEDS, *FHIR_FEEDS])}", field="feed")
    kinds = feed_agency_kinds(feed)
    if agency.kind not in kinds:
        raise Forbidden(
            f"agency {agency.code} (kind {agency.kind}) may not send the {feed} feed; it is for: {', '.join(kinds)}",
            field="feed",
        )


def _start_run(session: Session, feed: str, agency: Agency, file_name: str) -> IngestRun:
    run = IngestRun(feed=feed, agency_code=agency.code, file_name=file_name[:300], status="running",
                    accepted=0, updated=0, unchanged=0, rejected=0, started_at=clock.now())
    session.add(run)
    session.flush()
    return run


def _finish_run(session: Session, run: IngestRun, result: RunResult) -> RunResult:
    run.status = result.status
    run.file_error = result.file_error
    run.accepted, run.updated, run.unchanged, run.rejected = (
        result.accepted, result.updated, result.unchanged, result.rejected)
    run.finished_at = clock.now()
    if result.rejections:
        session.execute(insert(IngestRejection), [
            {"run_id": run.id, "line": r.line, "source_key": r.source_key, "field": r.field[:60],
             "reason": r.reason, "record": r.record} for r in result.rejections
        ])
    session.flush()
    return result


def get_agency(session: Session, code: str) -> Agency:
    """Return the agency or raise NotFound."""
    agency = session.get(Agency, code)
    if agency is None:
        raise NotFound(f"no agency with code {code!r}; add it with `chudong agencies add`", field="agency")
    return agency


def ingest_csv(session: Session, feed: str, agency: Agency, stream: BinaryIO, *, file_name: str = "",
               progress: Callable[[int], None] | None = None, chunk_size: int = CHUNK,
               link: bool = True) -> RunResult:
    """Ingest one CSV feed file from ``agency``; return counts and rejections (never commits)."""
    check_agency_may_send(agency, feed)
    if feed not in CSV_FEEDS:
        raise FileRejected(f"the {feed} feed takes HL7 FHIR R4 Bundles (JSON or NDJSON), not CSV", field="feed")
    run = _start_run(session, feed, agency, file_name)
    spec = CSV_FEEDS[feed]
    ctx = Context(clock.today(), ward_lookup_table(session))
    savepoint = session.begin_nested()
    state = CsvRun(session, feed, agency.code, run)
    try:
        rows: list[tuple] = []
        validate = spec.validate
        for line, record, fields in read_csv(stream, spec.columns, progress):
            if isinstance(record, int):
                state.reject(line, None, "(record)",
                             f"has {record} fields, the header has {len(spec.columns)}", fields)
                continue
            try:
                valid = validate(record, ctx)
            except Rejected as exc:
                state.reject(line, record.get("source_key") or None, exc.field, exc.reason, fields)
                continue
            first = state.seen_keys.setdefault(valid.source_key, line)
            if first != line:
                state.reject(line, valid.source_key, "source_key",
                             f"duplicate source_key in this file (first on line {first}); later copies are rejected",
                             fields)
                continue
            if valid.natural_key is not None:
                first = state.seen_natural.setdefault(valid.natural_key, line)
                if first != line:
                    state.reject(line, valid.source_key, _natural_field(feed),
                                 f"the same {_natural_field(feed)} is on line {first} of this file", fields)
                    continue
            rows.append(state.row(valid, record))
            if len(rows) >= chunk_size:
                state.write_chunk(rows)
                rows = []
        state.write_chunk(rows)
        state.stage.drop()
    except FileRejected as exc:
        savepoint.rollback()
        result = RunResult(run.id, feed, agency.code, "rejected", file_error=exc.message,
                           rejections=[RejectionRow(None, None, exc.field or "file", exc.message)])
        return _finish_run(session, run, result)
    savepoint.commit()
    result = RunResult(run.id, feed, agency.code, "done", state.accepted, state.updated, state.unchanged,
                       len(state.rejections), rejections=state.rejections)
    from chudong.registry.service import after_run

    after_run(session, run.id, feed, link=link and spec.links_person)
    return _finish_run(session, run, result)


def _natural_field(feed: str) -> str:
    return {"persons": "pid", "households": "household_code", "licences": "kind+number",
            "schools": "school_code", "utilities": "utility+customer_no"}.get(feed, "record")


def find_run(session: Session, run_id: int, agency_code: str | None = None) -> IngestRun:
    """Return a run (only the agency's own when ``agency_code`` is given) or raise NotFound."""
    run = session.get(IngestRun, run_id)
    if run is None or (agency_code is not None and run.agency_code != agency_code):
        raise NotFound(f"no ingest run {run_id}", field="run")
    return run


def run_rejections(session: Session, run_id: int) -> list[RejectionRow]:
    """Return the stored rejection report of a run, in file order."""
    rows = session.execute(
        select(IngestRejection).where(IngestRejection.run_id == run_id).order_by(IngestRejection.id)
    ).scalars()
    return [RejectionRow(r.line, r.source_key, r.field, r.reason, r.record) for r in rows]


def today_context(session: Session) -> Context:
    """Return the validation context for today (used by tests and the FHIR feeds)."""
    return Context(clock.today(), ward_lookup_table(session))
