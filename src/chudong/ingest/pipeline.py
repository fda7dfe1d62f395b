"""The ingestion pipeline: validate every record, write good ones set-based, report the rest.

One run = one file (or HTTP body) of one feed from one agency:

1. stream and validate in Python (``reader`` + ``feeds``); a bad record becomes a rejection
   (line, field, reason) and never stops the others; a key seen twice in the file rejects
   the later record;
2. every ``CHUNK`` valid records are written: records whose content hash did not change are
   left alone (idempotent re-sends); on PostgreSQL new persons-feed records of new persons are
   COPYd straight into ``person`` and ``source_record`` (a first load does not even look its
   keys up: ``CsvRun.flush_new``); the rest is staged (COPY on PostgreSQL) and moved with a few
   ``INSERT … SELECT … ON CONFLICT`` statements, new ones inserted, changed ones updated;
3. after the last chunk: records without an exact personal-ID link go to probabilistic
   linkage in one batch, and linked records are compared with the registry (conflicts).

The statements are raw SQL, so this module seals personal data itself (``chudong.privacy``):
the stage holds ciphertext and search hashes only, joins on ``person.pid_hash``, and each
value is sealed once and the same ciphertext used for the table column and the stored
normalised record. Content hashes are keyed, so they cannot be brute-forced back into IDs.

All data writes of a run happen inside one savepoint: a file-level problem found at any
point (encoding, broken quoting) rolls the whole file back, and the run is recorded as
rejected with the reason.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import queue
import sys
import threading
from contextlib import contextmanager
from functools import partial
from operator import itemgetter
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator

import psycopg
from orjson import dumps as _orjson
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from chudong.db import UTCDateTime
from chudong.geo.service import WardNames, ward_lookup_table
from chudong.ingest import bulk
from chudong.ingest.feeds import CSV_FEEDS, FHIR_FEEDS, Context, IdIssue, Rejected, Valid, feed_agency_kinds
from chudong.ingest.reader import FileRejected, UnknownFeed, read_csv
from chudong.kit import clock
from chudong.kit.errors import ChudongError, Forbidden, NotFound
from chudong.privacy.crypto import keyring
from chudong.registry.models import NORMALISED_SEALED, Agency, IngestRejection, IngestRun, QualityIssue

CHUNK = 10_000  # records per chunk: 10k filled the pipeline sooner than 20k (22.2k vs 21.0k rec/s, 4 runs each)
RECORD_PREVIEW = 500  # characters of a rejected record kept in the report

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_PLAIN = frozenset((str, int, type(None)))  # value types orjson spells exactly as the json encoder


def dumps_flat(record: dict) -> str:
    """Return ``record`` as compact JSON, exactly as ``_dumps`` would, about ten times as fast.

    Stored content hashes are computed over this text, so it must not change: records whose
    values are text, integers and None (every CSV record) go through orjson, which escapes text
    the same way (``ensure_ascii=False``: only quotes, backslashes and control characters;
    tests/ingest/test_fast_paths.py checks every code point); anything else (floats, booleans,
    nested values, an integer beyond 64 bits) through the json encoder.
    """
    if _PLAIN.issuperset(map(type, record.values())):
        try:
            return _orjson(record).decode()
        except TypeError:  # an integer beyond 64 bits, a key that is not text
            pass
    return _dumps(record)


def dumps_texts(record: dict[str, str]) -> str:
    """Return ``dumps_flat(record)`` for a record whose values are all text (a CSV row as received)."""
    try:
        return _orjson(record).decode()
    except TypeError:  # a value that is not text after all
        return dumps_flat(record)


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
    refusal: ChudongError | None = None  # why the whole body was refused (its HTTP status), when it was

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

# (raw, pid and the personal domain columns are sealed; *_hash are search hashes)
COMMON = [("source_key", "text"), ("content_hash", "text"), ("raw", "text"), ("normalised", "json"),
          ("pid", "text"), ("pid_hash", "text"), ("ward_code", "int"), ("ward_received", "int"),
          ("ward_ambiguous", "int"), ("rec_id", "int"), ("rec_new", "int"), ("person_id", "int"),
          ("person_new", "int")]

DOMAIN_COLUMNS: dict[str, list[tuple[str, str]]] = {
    # persons: the plain columns first, then the sealed ones with their search hashes (see CsvRun.row)
    "persons": [("full_name", "text"), ("name_key", "text"), ("birth_date", "date"), ("sex", "text"),
                ("ethnicity", "text"), ("household_code", "text"), ("zalo_id", "text"), ("death_date", "date"),
                ("phone", "text"), ("phone_hash", "text"), ("email", "text"), ("email_hash", "text"),
                ("old_id", "text"), ("old_id_hash", "text")],
    "households": [("household_code", "text"), ("area_type", "text"), ("income_per_person", "text"),
                   ("survey_date", "date"), ("deprivations", "json")],
    "licences": [("kind", "text"), ("licence_class", "text"), ("number", "text"), ("issued_on", "date"),
                 ("expires_on", "date"), ("issuing_agency", "text"), ("no_expiry", "int")],
    "schools": [("school_code", "text"), ("name", "text"), ("level", "text"), ("catchment", "json")],
    "utilities": [("utility", "text"), ("customer_no", "text")],
    "building_plans": [("parcel", "text"), ("declared_on", "date"), ("details", "json")],
}
JSON_DOMAIN = {"deprivations", "catchment", "details"}
SEALED_DOMAIN = {"income_per_person": "income"}  # domain columns (other than the persons') stored sealed
PERSON_SEALED = ("phone", "email", "old_id")  # sealed persons columns, each followed by its search hash
# the search-hash kind of each (an old identity card number is searched like a personal ID)
_BLIND_KIND = {"pid": "pid", "phone": "phone", "email": "email", "old_id": "pid"}

# run before the source records are written (persons: the golden record points at them)
BEFORE_SQL: dict[str, list[str]] = {
    "persons": [
        """INSERT INTO household (code, ward_code, area_type)
           SELECT s.household_code, MIN(s.ward_code),
                  MIN(CASE WHEN w.area_class = 'urban' THEN 'urban' ELSE 'rural' END)
           FROM {stg} s JOIN ward w ON w.code = s.ward_code
           WHERE s.household_code IS NOT NULL GROUP BY s.household_code
           ON CONFLICT (code) DO NOTHING""",
        # person ids are numbered before staging: new pids are plain INSERTs, known ones UPDATEs.
        # The household is looked up per record (an index probe), not joined: the stage has no
        # statistics, and hashing a whole province's households for every chunk would not scale.
        """INSERT INTO person (id, pid, pid_hash, full_name, name_key, birth_date, sex, ethnicity, ward_code,
                               household_id, phone, phone_hash, email, email_hash, zalo_id, death_date, source_record_id,
                               old_id, old_id_hash)
           SELECT s.person_id, s.pid, s.pid_hash, s.full_name, s.name_key, s.birth_date, s.sex, s.ethnicity,
                  s.ward_code, (SELECT h.id FROM household h WHERE h.code = s.household_code),
                  s.phone, s.phone_hash, s.email, s.email_hash, s.zalo_id, s.death_date, s.rec_id,
                  s.old_id, s.old_id_hash
           FROM {stg} s WHERE s.person_new = 1""",
        # a person first known without a usable ID number gets it from a later record; a later
        # record without one (or without an old number) never erases what the registry had
        """UPDATE person SET full_name = s.full_name, name_key = s.name_key, birth_date = s.birth_date, sex = s.sex,
             ethnicity = s.ethnicity, ward_code = s.ward_code, household_id = s.household_id, phone = s.phone,
             phone_hash = s.phone_hash, email = s.email, email_hash = s.email_hash, zalo_id = s.zalo_id,
             death_date = s.death_date, source_record_id = s.rec_id,
             pid = COALESCE(s.pid, person.pid), pid_hash = COALESCE(s.pid_hash, person.pid_hash),
             old_id = COALESCE(s.old_id, person.old_id), old_id_hash = COALESCE(s.old_id_hash, person.old_id_hash)
           FROM (SELECT s.*, (SELECT h.id FROM household h WHERE h.code = s.household_code) AS household_id
                 FROM {stg} s WHERE s.person_new = 0) s
           WHERE person.id = s.person_id""",
    ],
}

AFTER_SQL: dict[str, list[str]] = {
    "households": [
        """INSERT INTO household (code, ward_code, area_type, head_person_id, income_per_person, survey_date,
                                  deprivations, source_record_id)
           SELECT s.household_code, s.ward_code, s.area_type, p.id, s.income_per_person, s.survey_date,
                  s.deprivations, s.rec_id
           FROM {stg} s {join} WHERE true
           ON CONFLICT (code) DO UPDATE SET ward_code = excluded.ward_code, area_type = excluded.area_type,
             head_person_id = excluded.head_person_id, income_per_person = excluded.income_per_person,
             survey_date = excluded.survey_date, deprivations = excluded.deprivations,
             source_record_id = excluded.source_record_id""",
    ],
    "licences": [
        """INSERT INTO licence (kind, licence_class, number, person_id, holder_pid, issued_on, expires_on,
                                no_expiry, issuing_agency, revoked, source_record_id)
           SELECT s.kind, s.licence_class, s.number, p.id, s.pid, s.issued_on, s.expires_on,
                  COALESCE(s.no_expiry, 0) = 1, s.issuing_agency, false, s.rec_id
           FROM {stg} s {join} WHERE true
           ON CONFLICT (kind, number) DO UPDATE SET licence_class = excluded.licence_class,
             person_id = excluded.person_id, holder_pid = excluded.holder_pid, issued_on = excluded.issued_on,
             expires_on = excluded.expires_on, no_expiry = excluded.no_expiry, issuing_agency = excluded.issuing_agency,
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
           FROM {stg} s {join} WHERE true
           ON CONFLICT (utility, customer_no) DO UPDATE SET person_id = excluded.person_id,
             ward_code = excluded.ward_code, source_record_id = excluded.source_record_id""",
    ],
    "building_plans": [
        """INSERT INTO building_plan (person_id, parcel, ward_code, declared_on, details, source_record_id)
           SELECT p.id, s.parcel, s.ward_code, s.declared_on, s.details, s.rec_id
           FROM {stg} s {join} WHERE true
           ON CONFLICT (source_record_id) DO UPDATE SET person_id = excluded.person_id,
             parcel = excluded.parcel, ward_code = excluded.ward_code, declared_on = excluded.declared_on,
             details = excluded.details""",
    ],
}

# domain tables whose person column is filled by probabilistic linkage after the run
PERSON_COLUMN: dict[str, tuple[str, str]] = {
    "births": ("vital_event", "mother_person_id"),
    "deaths": ("vital_event", "subject_person_id"),
    "households": ("household", "head_person_id"),
    "licences": ("licence", "person_id"),
    "utilities": ("utility_customer", "person_id"),
    "building_plans": ("building_plan", "person_id"),
}

# {person}: the subject's person id — the stage's own for persons (numbered before staging),
# else looked up by a valid personal ID number
_INSERT_SOURCE = """INSERT INTO source_record (id, feed, agency_code, source_key, received_at, content_hash, raw,
        normalised, person_id, link_method, link_probability, run_id)
    SELECT s.rec_id, :feed, :agency, s.source_key, :now, s.content_hash, s.raw, s.normalised, {person},
           CASE WHEN {person} IS NULL THEN NULL ELSE 'pid' END, CASE WHEN {person} IS NULL THEN NULL ELSE 1.0 END,
           :run
    FROM {stg} s {join} WHERE s.rec_new = 1"""

_UPDATE_SOURCE = """UPDATE source_record SET received_at = :now, content_hash = s.content_hash, raw = s.raw,
        normalised = s.normalised, person_id = s.subject_id,
        link_method = CASE WHEN s.subject_id IS NULL THEN NULL ELSE 'pid' END,
        link_probability = CASE WHEN s.subject_id IS NULL THEN NULL ELSE 1.0 END, run_id = :run
    FROM (SELECT s.*, {person} AS subject_id FROM {stg} s {join} WHERE s.rec_new = 0) s
    WHERE source_record.id = s.rec_id"""

_AMBIGUOUS_WARDS = """INSERT INTO quality_issue (kind, person_id, field, value_a, source_a, value_b, source_b,
        agency_code, status, detail, created_at)
    SELECT 'ambiguous_ward', {subject}, 'ward_code', CAST(s.ward_received AS TEXT), NULL,
           CAST(s.ward_code AS TEXT), s.rec_id, :agency, 'open',
           :detail, :now
    FROM {stg} s
    WHERE s.ward_ambiguous = 1 AND NOT EXISTS (
        SELECT 1 FROM quality_issue q WHERE q.kind = 'ambiguous_ward' AND q.source_b = s.rec_id)"""



def _ambiguous_detail() -> str:
    """The detail of an ambiguous-ward issue, sealed: quality_issue.detail is sealed at rest, raw SQL seals here."""
    from chudong.privacy.crypto import keyring

    return keyring().seal("pre-2025 ward code split across several 2025 wards; the primary one was used", "record")


# the subject's person id per staged record: the stage's own (persons), else an index probe by
# search hash for the few records concerned (a join would hash the whole person table per chunk)
_SUBJECT = {True: "s.person_id", False: "(SELECT p.id FROM person p WHERE p.pid_hash = s.pid_hash)"}


# The holder's person by search hash. PostgreSQL: LATERAL, so each staged record is an index probe;
# a plain join let the planner hash the whole person table for every chunk once it had statistics
# (linear in the registry per chunk: quadratic over a province). SQLite has no LATERAL and always
# probes the index.
_PERSON_JOIN = {True: "LEFT JOIN LATERAL (SELECT p.id FROM person p WHERE p.pid_hash = s.pid_hash LIMIT 1) p ON true",
                False: "LEFT JOIN person p ON p.pid_hash = s.pid_hash"}


def _bind(sql: str, stg: str, now: bool = False, own_person: bool = False, pg: bool = False):
    person, join = ("s.person_id", "") if own_person else ("p.id", _PERSON_JOIN[pg])
    stmt = text(sql.format(stg=stg, person=person, join=join, subject=_SUBJECT[own_person]))
    if now:
        stmt = stmt.bindparams(bindparam("now", type_=UTCDateTime()))
    return stmt


# The direct path (PostgreSQL, persons feed): COPY column orders. The validating thread writes each
# line but for the person's household id (last), which the writer adds once the households exist.
_DIRECT_PERSON_PLAIN = ("full_name", "name_key", "birth_date", "sex", "ethnicity", "zalo_id", "death_date")
_DIRECT_PERSON_COPY = (f"COPY person (id, source_record_id, pid, pid_hash, {', '.join(_DIRECT_PERSON_PLAIN)}, "
                       "ward_code, phone, phone_hash, email, email_hash, old_id, old_id_hash, household_id) FROM STDIN")
_DIRECT_SOURCE_COPY = ("COPY source_record (id, person_id, received_at, link_method, link_probability, run_id, feed, "
                       "agency_code, source_key, content_hash, raw, normalised) FROM STDIN")
_DIRECT_HOUSEHOLDS = """INSERT INTO household (code, ward_code, area_type)
    SELECT k.code, k.ward, CASE WHEN w.area_class = 'urban' THEN 'urban' ELSE 'rural' END
    FROM unnest(%s::text[], %s::int[]) AS k(code, ward) JOIN ward w ON w.code = k.ward
    ON CONFLICT (code) DO NOTHING"""
NULL = "\\N"  # COPY's text format
_NULL2 = f"{NULL}\t{NULL}"  # a sealed value and its search hash, both NULL
_OTHER_SEALED = frozenset(name for name, _ in NORMALISED_SEALED) - {"pid", *PERSON_SEALED}
# (source record id, person id, person COPY line but its last field (the household id, known to the
# writer) with the tab before it, source_record COPY line, household code, ward code, pid search hash)
Direct = tuple[int, int, str, str, str | None, int | None, str]
# (valid record, normalised JSON, content hash, the record as received, direct path lines or None)
Pending = tuple[Valid, str, str, dict[str, str], Direct | None]


# a stored record's person when that person has no personal ID number (else NULL)
_WITHOUT_PID = "(SELECT p.id FROM person p WHERE p.id = r.person_id AND p.pid_hash IS NULL)"

_DRAW_IDS = ("SELECT min(i), max(i), CASE WHEN max(i) - min(i) + 1 = count(*) THEN NULL ELSE array_agg(i) END "
             "FROM (SELECT nextval(%s) AS i FROM generate_series(1, %s)) n")


def _drawn(cur, sequence: str, n: int) -> list[int]:
    """Draw ``n`` numbers of ``sequence`` in one statement; concurrent writers get other numbers.

    When no one else drew meanwhile the n numbers are one range, and only its ends travel.
    """
    cur.execute(_DRAW_IDS, (sequence, n))
    low, high, drawn = cur.fetchone()
    return list(range(low, high + 1)) if drawn is None else sorted(drawn)


class _Numbers:
    """Ids for direct-path records, drawn ahead by the validating thread on a connection of its own.

    Sequences are not transactional, so numbers drawn outside the run's transaction are as good as
    its own: the validating thread writes complete COPY lines and the writer only joins them. Numbers
    of records that end up elsewhere (a stored record, a rolled-back chunk) are left unused, as any
    sequence gap.
    """

    def __init__(self, session: Session, block: int) -> None:
        self.block = max(block, 1)
        bind = session.get_bind()
        self.conn = getattr(bind, "engine", bind).raw_connection()  # a pooled connection, not the run's
        try:
            with self.conn.cursor() as cur:
                cur.execute("SELECT pg_get_serial_sequence('source_record', 'id'), pg_get_serial_sequence('person', 'id')")
                self.sequences = cur.fetchone()
            self.conn.commit()
        except BaseException:
            self.conn.close()
            raise
        self.pairs: Iterator[tuple[int, int]] = iter(())

    def take(self) -> tuple[int, int]:
        """Return the next (source record id, person id)."""
        try:
            return next(self.pairs)
        except StopIteration:
            with self.conn.cursor() as cur:
                self.pairs = zip(_drawn(cur, self.sequences[0], self.block), _drawn(cur, self.sequences[1], self.block))
            self.conn.commit()
            return next(self.pairs)

    def close(self) -> None:
        """Give the connection back to the pool."""
        self.conn.close()


class CsvRun:
    """The state of one CSV run: pending chunk, stage, seen keys, counts and rejections.

    Each chunk is classified against what is stored *before* anything is staged: one
    indexed look-up of the chunk's source keys returns their ids and content hashes, so
    unchanged records (an idempotent re-send) are counted and dropped in Python and never
    reach the stage, updated ones keep their id, and new ones get ids reserved in one
    statement (the golden person row points at its source record in the same pass).
    """

    def __init__(self, session: Session, feed: str, agency: str, run: IngestRun, chunk_size: int = CHUNK) -> None:
        self.session = session
        self.feed = CSV_FEEDS[feed]
        self.agency = agency
        self.run = run
        self.chunk_size = chunk_size
        self.now = clock.now()
        self.domain = DOMAIN_COLUMNS[feed]
        self.plain_domain = itemgetter(*(n for n, _ in self.domain if n not in PERSON_SEALED and not n.endswith(
            "_hash"))) if feed == "persons" else None
        self.ring = keyring()  # one ring for the run (the writer thread seals with it too)
        # fast paths of the ring (same outputs): the sealer is used by whichever thread writes
        # (flush: the writer thread on PostgreSQL), the content hasher by the validating thread
        self.seal = self.ring.batch_sealer().seal
        self.content_hash = self.ring.content_hasher()
        self.blind = {name: self.ring.hasher(kind) for name, kind in _BLIND_KIND.items()}
        self.sealed_fields = [(name, kind) for name, kind in NORMALISED_SEALED]
        self.stage = bulk.Stage(session, f"ingest_stage_{feed}", COMMON + self.domain)
        self.pg = self.stage.pg
        self.seen_keys: dict[str, int] = {}
        self.seen_natural: dict[str, int] = {}
        self.rejections: list[RejectionRow] = []
        self.accepted = self.updated = self.unchanged = 0
        # (valid record, its normalised JSON, content hash, the record as received, its direct COPY
        # lines or None)
        self.pending: list[Pending] = []
        self._sequences: dict[str, str] = {}
        # PostgreSQL: chunks are written by a background thread while this one validates the
        # next (the thread mostly waits on the server, so Python and PostgreSQL use both cores).
        # SQLite's pool gives each thread its own connection, so it writes inline.
        self.writer = _ChunkWriter(self.flush) if self.pg else None
        # PostgreSQL, persons feed: a new record of a new person (every record of a registry's
        # first load) skips the stage. This thread numbers it (ids drawn ahead on a connection of
        # its own), seals it and writes its COPY lines while the writer waits on the server; the
        # writer adds the household ids and COPYs the lines straight into person and source_record.
        # Everything else takes the staged path. (BatchSealer is one per thread, hence a second one.)
        self.direct = self.pg and feed == "persons"
        self.all_new = self.direct  # write the next chunk optimistically (flush_new)
        self.seal_here = self.ring.batch_sealer().seal if self.direct else None
        self.numbers: _Numbers | None = None  # opened by the first prepared record
        self.person_name = itemgetter(*_DIRECT_PERSON_PLAIN)
        self.direct_constant = bulk.copy_line((self.now.astimezone(dt.UTC).isoformat(), "pid", "1.0", str(run.id),
                                               feed, agency))

    def finish(self) -> None:
        """Write what is pending and wait for the writer; re-raise a write error."""
        chunk, self.pending = self.pending, []
        self.close_numbers()
        if self.writer is not None:
            if chunk:
                self.writer.submit(chunk)
            self.writer.close()
        else:
            self.flush(chunk)

    def abandon(self) -> None:
        """Stop the writer after a file-level rejection (its work is rolled back by the caller)."""
        self.close_numbers()
        if self.writer is not None:
            self.writer.close(reraise=False)

    def close_numbers(self) -> None:
        """Give back the connection the ids were drawn on."""
        if self.numbers is not None:
            self.numbers, numbers = None, self.numbers
            numbers.close()

    def reject(self, line: int, key: str | None, field_name: str, reason: str, fields: list[str]) -> None:
        """Record one rejected record."""
        self.rejections.append(RejectionRow(line, key, field_name, reason, ",".join(fields)[:RECORD_PREVIEW]))

    def add(self, valid: Valid, raw: dict[str, str]) -> None:
        """Queue one valid record; write the chunk when it is full."""
        normalised = dumps_flat(valid.normalised)
        digest = self.content_hash(normalised)
        # (once a chunk turned out to hold stored records, e.g. a re-send, later records are not
        # prepared for the direct path: most will be unchanged, and the staged path takes the rest)
        # (a record without a usable ID number, or with an identifier to flag, takes the staged path)
        direct = (self.prepare(valid, normalised, digest, raw) if self.direct and self.all_new and not
                  valid.ward_ambiguous and valid.pid is not None and not valid.id_issues else None)
        self.pending.append((valid, normalised, digest, raw, direct))
        if len(self.pending) >= self.chunk_size:
            chunk, self.pending = self.pending, []
            if self.writer is not None:
                self.writer.submit(chunk)
            else:
                self.flush(chunk)

    def row(self, valid: Valid, normalised: str, digest: str, raw: dict[str, str], rec_id: int, rec_new: int,
            person_id: int | None, person_new: int | None, pid_hash: str | None = None) -> tuple:
        """Return the stage tuple of a valid record (personal data sealed, search hashes beside it)."""
        norm = valid.normalised
        seal = self.seal
        stored, sealed, pid_sealed, raw_sealed = self.sealed(valid, normalised, raw, seal)
        pid = valid.pid
        head = (valid.source_key, digest, raw_sealed, stored, pid_sealed,
                pid_hash or (self.blind["pid"](pid) if pid is not None else None), norm.get("ward_code"),
                valid.ward_received, 1 if valid.ward_ambiguous else 0, rec_id, rec_new, person_id, person_new)
        if self.plain_domain is not None:  # persons: the plain domain columns are keys of the record
            personal = []
            for name in PERSON_SEALED:
                value = norm.get(name)
                personal += (sealed.get(name), self.blind[name](value) if value is not None else None)
            return (*head, *self.plain_domain(norm), *personal)
        domain = []
        for name, _ in self.domain:
            value = norm.get(name)
            if name in JSON_DOMAIN:
                value = _dumps(value if name != "details" else {"floors": norm.get("floors"),
                                                                 "floor_area_m2": norm.get("floor_area_m2")})
            elif name in SEALED_DOMAIN and value is not None:
                value = sealed.get(name) or seal(str(value), SEALED_DOMAIN[name])
            domain.append(value)
        return (*head, *domain)

    def sealed(self, valid: Valid, normalised: str, raw: dict[str, str],
               seal: Callable[[str, str], str]) -> tuple[str, dict[str, str], str | None, str]:
        """Return (stored normalised JSON, {field: sealed value}, sealed pid, sealed raw record).

        Each personal value is sealed once: the same ciphertext goes to its column and the record
        (CSV records are flat; the FHIR feeds' nested records are sealed by their column type).
        """
        norm = valid.normalised
        sealed: dict[str, str] = {}
        for name, kind in self.sealed_fields:
            value = norm.get(name)
            if value is not None:
                sealed[name] = seal(str(value), kind)
        stored = dumps_flat({**norm, **sealed}) if sealed else normalised
        pid = valid.pid
        pid_sealed = sealed.get("pid") if pid is not None and pid == norm.get("pid") else None
        if pid is not None and pid_sealed is None:
            pid_sealed = seal(pid, "pid")
        return stored, sealed, pid_sealed, seal(dumps_texts(raw), "record")

    def prepare(self, valid: Valid, normalised: str, digest: str, raw: dict[str, str]) -> Direct:
        """Return the direct path's numbered COPY lines of a persons record (all but the household id).

        What ``sealed`` and ``row`` give, spelled out for the persons record's own fields (it runs for
        every record of a registry's load); a record with any other sealed field takes ``sealed``.
        """
        if self.numbers is None:
            self.numbers = _Numbers(self.session, self.chunk_size)
        rid, person_id = self.numbers.take()
        norm = valid.normalised
        seal, blind = self.seal_here, self.blind
        pid = valid.pid
        if norm.keys().isdisjoint(_OTHER_SEALED) and norm["pid"] == pid and norm.get("old_id") is None:
            pid_sealed = seal(pid, "pid")
            sealed = {"pid": pid_sealed}
            phone, email = norm["phone"], norm["email"]
            if phone is not None:
                sealed["phone"] = phone_sealed = seal(phone, "phone")
                phone = f"{phone_sealed}\t{blind['phone'](phone)}"
            if email is not None:
                sealed["email"] = email_sealed = seal(email, "email")
                email = f"{email_sealed}\t{blind['email'](email)}"
            stored = dumps_flat({**norm, **sealed})
            raw_sealed = seal(dumps_texts(raw), "record")
            old_id = None
        else:
            stored, sealed, pid_sealed, raw_sealed = self.sealed(valid, normalised, raw, seal)
            phone, email, old_id = (None if norm.get(name) is None else f"{sealed[name]}\t{blind[name](norm[name])}"
                                    for name in PERSON_SEALED)
        pid_hash = blind["pid"](pid)
        ward = norm["ward_code"]
        person = (f"{person_id}\t{rid}\t{pid_sealed}\t{pid_hash}\t{bulk.copy_line(self.person_name(norm))}\t"
                  f"{NULL if ward is None else ward}\t{_NULL2 if phone is None else phone}\t"
                  f"{_NULL2 if email is None else email}\t{_NULL2 if old_id is None else old_id}\t")
        source = (f"{rid}\t{person_id}\t{self.direct_constant}\t{bulk.copy_field(valid.source_key)}\t{digest}\t"
                  f"{raw_sealed}\t{bulk.copy_field(stored)}")
        return rid, person_id, person, source, norm["household_code"], ward, pid_hash

    def stored(self, keys: list[str]) -> dict[str, tuple[int, str, int | None]]:
        """Return {source key: (record id, content hash, person id)} of this agency's stored records among ``keys``.

        (persons feed: the person id only when that person has no ID number yet, else None)
        """
        conn = self.session.connection()
        feed, agency = self.feed.name, self.agency
        if self.pg:
            with conn.connection.driver_connection.cursor() as cur:
                # one index probe per key: LATERAL keeps the planner from hashing the whole table
                # (which it prefers once the table has statistics: linear per chunk, quadratic per file)
                # (the keys travel as one text: adapting a 10,000-item list costs ~1 µs a key in
                # Python; a source key cannot hold a newline)
                cur.execute(f"SELECT r.source_key, r.id, r.content_hash, {_WITHOUT_PID} "
                            "FROM unnest(string_to_array(%s, E'\\n')) AS k(key), "
                            "LATERAL (SELECT r.source_key, r.id, r.content_hash, r.person_id FROM source_record r "
                            "WHERE r.feed = %s AND r.agency_code = %s AND r.source_key = k.key LIMIT 1) r",
                            ("\n".join(keys), feed, agency))
                return {k: (i, h, p) for k, i, h, p in cur}
        out: dict[str, tuple[int, str, int | None]] = {}
        for i in range(0, len(keys), 500):  # SQLite's default limit on bound parameters is 999
            batch = keys[i:i + 500]
            marks = ", ".join("?" for _ in batch)
            rows = conn.exec_driver_sql(
                f"SELECT r.source_key, r.id, r.content_hash, {_WITHOUT_PID} FROM source_record r "
                f"WHERE r.feed = ? AND r.agency_code = ? AND r.source_key IN ({marks})", (feed, agency, *batch))
            out.update({k: (rid, h, p) for k, rid, h, p in rows})
        return out

    def new_ids(self, table: str, n: int) -> list[int]:
        """Reserve ``n`` new ids of ``table`` (source_record or person)."""
        if n == 0:
            return []
        conn = self.session.connection()
        if self.pg:
            sequence = self._sequences.get(table)
            if sequence is None:
                sequence = self._sequences[table] = conn.exec_driver_sql(
                    f"SELECT pg_get_serial_sequence('{table}', 'id')").scalar_one()
            with conn.connection.driver_connection.cursor() as cur:
                return _drawn(cur, sequence, n)  # one statement for the whole chunk
        # SQLite has one writer at a time (the run's transaction holds the lock)
        base = conn.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").scalar_one()
        return list(range(base + 1, base + 1 + n))

    def person_ids(self, pid_hashes: dict[str, str]) -> dict[str, int]:
        """Return {pid: person id} of the registry's persons among ``pid_hashes`` ({pid: its search hash})."""
        conn = self.session.connection()
        by_hash = {h: pid for pid, h in pid_hashes.items()}
        hashes = list(by_hash)
        if self.pg:
            with conn.connection.driver_connection.cursor() as cur:
                cur.execute("SELECT p.pid_hash, p.id FROM unnest(string_to_array(%s, E'\\n')) AS k(h), "
                            "LATERAL (SELECT p.pid_hash, p.id FROM person p WHERE p.pid_hash = k.h LIMIT 1) p",
                            ("\n".join(hashes),))
                return {by_hash[h]: i for h, i in cur}
        out: dict[str, int] = {}
        for i in range(0, len(hashes), 500):
            batch = hashes[i:i + 500]
            rows = conn.exec_driver_sql(
                f"SELECT pid_hash, id FROM person WHERE pid_hash IN ({', '.join('?' for _ in batch)})", tuple(batch))
            out.update({by_hash[h]: pid for h, pid in rows})
        return out

    def flush(self, pending: list[Pending]) -> None:
        """Write one chunk: count unchanged records, stage the others, upsert them set-based."""
        if not pending:
            return
        if self.all_new and self.flush_new(pending):
            return
        stored = self.stored([p[0].source_key for p in pending])
        todo: list[tuple[Pending, int | None]] = []
        for item in pending:
            hit = stored.get(item[0].source_key)
            if hit is None:
                todo.append((item, None))
            elif hit[1] == item[2]:
                self.unchanged += 1
            else:
                todo.append((item, hit[0]))
        if not todo:
            return
        # new records prepared for the direct path come numbered; the others draw their ids here
        fresh = iter(self.new_ids("source_record", sum(1 for item, rid in todo if rid is None and item[4] is None)))
        persons: dict[str, tuple[int, int]] = {}  # source key → (person id, 1 when new)
        blind = self.blind["pid"]
        hashes = {item[0].pid: item[4][6] if item[4] is not None else blind(item[0].pid)
                  for item, _ in todo if item[0].pid is not None}
        if self.feed.name == "persons":  # (the pids of a chunk are distinct: one per file)
            known = self.person_ids(hashes)
            # the next chunk is probably like this one: all new (a first load) or not (a re-send)
            self.all_new = self.direct and not stored and not known
            # the person of a record: the one with its ID number, else the one its stored record made
            # when that one has no ID number yet (a person first sent without a usable one), else a
            # new one (a stored record that now carries another ID number describes another person)
            theirs = {}
            for item, rid in todo:
                valid = item[0]
                person = known.get(valid.pid) if valid.pid is not None else None
                if person is None and rid is not None:
                    person = stored[valid.source_key][2]
                theirs[valid.source_key] = person
            fresh_people = iter(self.new_ids("person", sum(1 for item, _ in todo
                                                           if item[4] is None and theirs[item[0].source_key] is None)))
            for item, _ in todo:
                person = theirs[item[0].source_key]
                persons[item[0].source_key] = ((person, 0) if person is not None else
                                               (item[4][1] if item[4] is not None else next(fresh_people), 1))
        updated = 0
        rows = []
        direct: list[Direct] = []
        flagged: list[tuple[int, int, int | None, Valid]] = []  # (record id, 1 when new, person id, record)
        for (valid, normalised, digest, raw, lines), rid in todo:
            if rid is None:
                rid, new = lines[0] if lines is not None else next(fresh), 1
            else:
                new = 0
                updated += 1
            person_id, person_new = persons.get(valid.source_key, (None, None)) if persons else (None, None)
            if valid.id_issues or not new:
                flagged.append((rid, new, person_id, valid))
            if lines is not None and new and person_new:
                direct.append(lines)
                continue
            rows.append(self.row(valid, normalised, digest, raw, rid, new, person_id, person_new,
                                 hashes.get(valid.pid) if valid.pid is not None else None))
        self.updated += updated
        self.accepted += len(todo) - updated
        if direct:
            self.write_direct(direct)
        if rows:
            self.write(rows)
        if flagged:
            write_id_issues(self.session, self.agency, self.now,
                            [(rid, new, person_id, valid.id_issues) for rid, new, person_id, valid in flagged])

    def flush_new(self, pending: list[Pending]) -> bool:
        """Write a chunk assumed to be all new records of new persons; False (nothing written) when not.

        A first load skips the look-ups: the chunk is numbered and COPYd inside a savepoint, and
        the unique keys (source key per agency, personal ID number) are the check. A record that
        was already stored makes the COPY fail; the savepoint is rolled back and the chunk goes
        the careful way (keeping the numbers of the records it still writes).
        """
        if any(item[4] is None for item in pending):
            return False
        records = [item[4] for item in pending]
        raw = self.session.connection().connection.driver_connection
        raw.execute("SAVEPOINT ingest_new_chunk")
        try:
            self.write_direct(records)
        except psycopg.errors.UniqueViolation:
            raw.execute("ROLLBACK TO SAVEPOINT ingest_new_chunk")
            self.all_new = False
            return False
        raw.execute("RELEASE SAVEPOINT ingest_new_chunk")
        self.accepted += len(records)
        return True

    def write_direct(self, records: list[Direct]) -> None:
        """COPY new persons records straight into household (their households), person and source_record."""
        conn = self.session.connection()
        households: dict[str, int] = {}  # household code → its lowest ward code in the chunk (as the staged path)
        for _, _, _, _, code, ward, _ in records:
            if code is not None and ward is not None and (code not in households or ward < households[code]):
                households[code] = ward
        with conn.connection.driver_connection.cursor() as cur:
            if households:
                cur.execute(_DIRECT_HOUSEHOLDS, (list(households), list(households.values())))
                cur.execute("SELECT h.code, h.id FROM unnest(%s::text[]) AS k(code), "
                            "LATERAL (SELECT h.code, h.id FROM household h WHERE h.code = k.code LIMIT 1) h", (list(households),))
                households = {code: str(i) for code, i in cur}
            get = households.get  # (a record without a household: None is no key, the line gets NULL)
            with cur.copy(_DIRECT_PERSON_COPY) as copy:
                copy.write("".join([f"{r[2]}{get(r[4], NULL)}\n" for r in records]).encode())
            with cur.copy(_DIRECT_SOURCE_COPY) as copy:
                copy.write(("\n".join([r[3] for r in records]) + "\n").encode())

    def write(self, rows: list[tuple]) -> None:
        """Stage ``rows`` (ids assigned) and move them into the tables."""
        s = self.session
        stg = self.stage.name
        self.stage.load(rows)
        bind = partial(_bind, stg=stg, pg=self.pg)
        own = self.feed.name == "persons"
        for sql in BEFORE_SQL.get(self.feed.name, []):
            s.execute(bind(sql))
        when = {"now": self.now, "run": self.run.id}
        s.execute(bind(_INSERT_SOURCE, now=True, own_person=own), {"feed": self.feed.name, "agency": self.agency, **when})
        s.execute(bind(_UPDATE_SOURCE, now=True, own_person=own), when)
        for sql in AFTER_SQL.get(self.feed.name, []):
            s.execute(bind(sql))
        s.execute(bind(_AMBIGUOUS_WARDS, now=True, own_person=own), {"agency": self.agency, "now": self.now,
                                                                      "detail": _ambiguous_detail()})


def write_id_issues(session: Session, agency: str, now: dt.datetime,
                    records: list[tuple[int, int, int | None, tuple[IdIssue, ...]]]) -> None:
    """Raise a data-quality issue per identifier kept but not read cleanly; resolve those a new version fixed.

    ``records``: (source record id, 1 when new, person id, its issues). An issue (kind
    ``identifier``: field as sent, class in ``value_b``, reason in ``detail``) stays open while the
    agency's record still has it; a re-sent record whose identifier now reads cleanly resolves it.
    """
    resend = [rid for rid, new, _, _ in records if not new]
    open_now: dict[tuple[int, str, str | None], int] = {}
    closed: set[tuple[int, str, str | None]] = set()  # dismissed by a steward (or resolved): not raised again
    for i in range(0, len(resend), 500):
        for issue_id, rid, fld, cls, status in session.execute(
                select(QualityIssue.id, QualityIssue.source_b, QualityIssue.field, QualityIssue.value_b,
                       QualityIssue.status)
                .where(QualityIssue.kind == "identifier", QualityIssue.source_b.in_(resend[i:i + 500]))):
            if status == "open":
                open_now[(rid, fld, cls)] = issue_id
            elif status == "dismissed":
                closed.add((rid, fld, cls))
    new: list[dict] = []
    for rid, _, person_id, issues in records:
        for fld, cls, why in issues:
            if open_now.pop((rid, fld[:40], cls), None) is None and (rid, fld[:40], cls) not in closed:
                new.append({"kind": "identifier", "person_id": person_id, "field": fld[:40], "value_a": None,
                            "source_a": None, "value_b": cls, "source_b": rid, "agency_code": agency,
                            "status": "open", "detail": why, "created_at": now})
    if open_now:  # what the new versions no longer have
        session.execute(update(QualityIssue).where(QualityIssue.id.in_(list(open_now.values())))
                        .values(status="resolved"))
    if new:
        session.execute(insert(QualityIssue), new)


class _ChunkWriter:
    """Runs ``write(chunk)`` for each submitted chunk, in order, on one background thread."""

    def __init__(self, write: Callable[[list], None]) -> None:
        self.write = write
        self.error: BaseException | None = None
        # one chunk queued besides the one being written: memory stays bounded to ~3 chunks
        self.chunks: queue.Queue[list | None] = queue.Queue(maxsize=1)
        self.closed = False
        self.thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (chunk := self.chunks.get()) is not None:
            if self.error is None:
                try:
                    self.write(chunk)
                except BaseException as exc:  # handed to the caller's thread by _raise
                    self.error = exc

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def submit(self, chunk: list) -> None:
        """Queue a chunk (blocks while the writer is one chunk behind); raise an earlier write error."""
        self._raise()
        self.chunks.put(chunk)

    def close(self, reraise: bool = True) -> None:
        """Wait until every queued chunk is written; raise a write error unless told not to."""
        if not self.closed:
            self.closed = True
            self.chunks.put(None)
            self.thread.join()
        if reraise:
            self._raise()


_BULK_LOCK = threading.Lock()
_bulk_depth = 0
_bulk_saved: tuple[bool, float] = (True, 0.005)


@contextmanager
def bulk_interpreter() -> Iterator[None]:
    """Tune the interpreter for a bulk run; restored when the last concurrent run ends.

    * no cyclic garbage collection: a run allocates millions of short-lived, acyclic objects,
      and the collector kept re-walking each queued chunk (~10% of the Python time of a load);
    * a 0.5 ms thread switch interval instead of 5 ms: the writer thread, woken by PostgreSQL,
      otherwise waits up to 5 ms for the validating thread to hand over the interpreter, at each
      of the dozens of round trips of a chunk, while the server idles (16.5k vs 14.9k records/s).
    """
    global _bulk_depth, _bulk_saved
    with _BULK_LOCK:
        if _bulk_depth == 0:
            _bulk_saved = (gc.isenabled(), sys.getswitchinterval())
            gc.disable()
            sys.setswitchinterval(0.0005)
        _bulk_depth += 1
    try:
        yield
    finally:
        with _BULK_LOCK:
            _bulk_depth -= 1
            if _bulk_depth == 0:
                enabled, interval = _bulk_saved
                sys.setswitchinterval(interval)
                if enabled:
                    gc.enable()


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
    with bulk_interpreter():
        return _ingest_csv(session, feed, agency, stream, file_name, progress, chunk_size, link)


def _ingest_csv(session: Session, feed: str, agency: Agency, stream: BinaryIO, file_name: str,
                progress: Callable[[int], None] | None, chunk_size: int, link: bool) -> RunResult:
    check_agency_may_send(agency, feed)
    if feed not in CSV_FEEDS:
        raise FileRejected(f"the {feed} feed takes HL7 FHIR R4 Bundles (JSON or NDJSON), not CSV", field="feed")
    run = _start_run(session, feed, agency, file_name)
    spec = CSV_FEEDS[feed]
    ctx = today_context(session)
    savepoint = session.begin_nested()
    state = CsvRun(session, feed, agency.code, run, chunk_size)
    try:
        validate = spec.validate
        for line, record, fields in read_csv(stream, spec.columns, progress, spec.optional_columns):
            if isinstance(record, int):
                state.reject(line, None, "(record)",
                             f"has {record} fields, the header has {len(spec.columns)}", fields)
                continue
            nul = None
            if "\x00" in "".join(fields):  # one scan; the field is looked for only when there is one
                nul = next(name for name, value in record.items() if "\x00" in value)
            if nul is not None:  # no database text column can hold a NUL character
                state.reject(line, (record.get("source_key") or "").replace("\x00", "") or None, nul,
                             "contains a NUL character (\\x00)", [f.replace("\x00", "\\x00") for f in fields])
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
            state.add(valid, record)
        state.finish()
        state.stage.drop()
    except FileRejected as exc:
        state.abandon()
        savepoint.rollback()
        result = RunResult(run.id, feed, agency.code, "rejected", file_error=exc.message,
                           rejections=[RejectionRow(None, None, exc.field or "file", exc.message)])
        return _finish_run(session, run, result)
    except BaseException:
        state.abandon()  # a database error: the caller's unit of work rolls back
        raise
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
    """Return the validation context for today: the ward codes and the ward names."""
    table = ward_lookup_table(session)
    return Context(clock.today(), table, WardNames.load(session, table))
