"""Birth and death notifications (HL7 FHIR R4 Bundles) → source records and vital events.

The FHIR reading itself is ``chudong.fhir.parser``; this module stores what it returns:
one ``source_record`` (feed ``births`` / ``deaths``, key from the notice) and one
``vital_event`` per notice, idempotently. A birth's record is linked to the mother (by her
personal ID number, else by record linkage after the run); a death's to the deceased.
"""

from __future__ import annotations

import hashlib
import json
from typing import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from chudong.fhir.parser import (BirthNotice, DeathNotice, FhirRejection, PersonFacts, WrongFeed, parse_bundle,
                                 parse_ndjson)
from chudong.geo.service import WardNames, WardTable, ward_lookup_table
from chudong.ingest.feeds import IdIssue
from chudong.ingest.pipeline import (RejectionRow, RunResult, _finish_run, _start_run, check_agency_may_send,
                                     write_id_issues)
from chudong.ingest.reader import FileRejected
from chudong.kit import clock
from chudong.kit.names import display_name, name_key
from chudong.kit.pid import no_identifier_fields
from chudong.privacy.crypto import keyring
from chudong.registry.models import Agency, Person, SourceRecord, VitalEvent

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def _facts(p: PersonFacts, wards: WardTable, names: Callable[[], WardNames]) -> dict:
    """Return a person's normalised facts: identifiers by chudong.kit.pid's contract, the ward as of 2025.

    The ward: its code (a pre-2025 one mapped), else the ward written in words in the ward extension,
    else the address text, resolved through the units table ("P. Hải Châu", "Thạch Thang - Hải Châu").
    """
    facts = {
        **(p.ids or no_identifier_fields()), "name": display_name(p.full_name) if p.full_name else None,
        "name_key": name_key(p.full_name) if p.full_name else None,
        "birth_date": p.birth_date.isoformat() if p.birth_date else None, "sex": p.sex,
        "insurance_no": p.insurance_no, "phone": p.phone, "ward_code": p.ward_code,
        "address_text": p.address_text,
    }
    if p.cmnd is not None:
        facts["old_id"] = p.cmnd
    if p.ward_code is not None:
        hit = wards.get(p.ward_code)
        if hit is not None and hit[1]:  # a pre-2025 code: the 2025 ward it became (the primary one if split)
            facts["ward_code"], facts["ward_code_received"] = hit[0], p.ward_code
    else:
        found = (names().resolve(p.ward_text) if p.ward_text else None) or (
            names().resolve_address(p.address_text) if p.address_text else None)
        if found is not None:
            facts["ward_code"] = found[0]
            if found[1] is not None:
                facts["ward_code_received"] = found[1]
    return facts


def _id_issues(notice: BirthNotice | DeathNotice) -> tuple[IdIssue, ...]:
    """Return the notice's identifier issues: field ``<role>.identifier`` (the FHIR path is in the reason)."""
    people = ((("child", notice.child), ("mother", notice.mother)) if isinstance(notice, BirthNotice)
              else (("deceased", notice.deceased),
                    *((("informant", notice.informant.facts),) if notice.informant is not None else ())))
    return tuple((f"{role}.identifier", cls, f"{why} ({path})")
                 for role, facts in people for path, cls, why in facts.id_issues)


def _key(key: str) -> str:
    # source_key is at most 120 characters; long Bundle identifiers keep a readable head and a hash
    return key if len(key) <= 120 else f"{key[:79]}~{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def _normalise(notice: BirthNotice | DeathNotice, wards: WardTable,
               names: Callable[[], WardNames]) -> tuple[str, dict, dict, str | None]:
    """Return (kind, normalised record, vital-event details, the linked person's pid)."""
    if isinstance(notice, BirthNotice):
        child = _facts(notice.child, wards, names)
        details = {"sex": notice.child.sex, "birth_time": notice.birth_time.isoformat() if notice.birth_time else None,
                   "weight_g": notice.weight_g, "multiple_birth": notice.multiple_birth,
                   "facility_id": notice.facility_id, "facility_name": notice.facility_name,
                   "child_name": child["name"]}
        norm = {"child": child, "mother": _facts(notice.mother, wards, names), **details}
        return "birth", norm, details, notice.mother.pid
    deceased = _facts(notice.deceased, wards, names)
    details = {"sex": notice.deceased.sex, "death_time": notice.death_time.isoformat() if notice.death_time else None,
               "cause_icd10": notice.cause_icd10, "facility_id": notice.facility_id,
               "facility_name": notice.facility_name, "deceased_name": deceased["name"]}
    informant = None
    if notice.informant is not None:
        # the declarant pre-fill of the death dossier: who, and how related (the event details hold no
        # personal ID or phone: those stay in the sealed normalised record)
        informant = {**_facts(notice.informant.facts, wards, names), "relationship": notice.informant.relationship}
        details["informant_name"] = informant["name"]
        details["informant_relationship"] = notice.informant.relationship
    norm = {"deceased": deceased, "death_date": notice.death_date.isoformat(), **details}
    if informant is not None:
        norm["informant"] = informant
    return "death", norm, details, notice.deceased.pid


class _VitalWriter:
    """Stores notices one by one (hospital volumes are small) with accepted/updated/unchanged counts."""

    def __init__(self, session: Session, feed: str, agency: Agency, run_id: int) -> None:
        self.session, self.feed, self.agency, self.run_id = session, feed, agency, run_id
        self.now = clock.now()
        self.accepted = self.updated = self.unchanged = 0
        self.rejections: list[RejectionRow] = []
        self.seen: set[str] = set()
        self.wards = ward_lookup_table(session)
        self._ward_names: WardNames | None = None  # loaded when a ward is written in words

    def ward_names(self) -> WardNames:
        """Return the ward-name look-up, built on first use (most notifications send a ward code)."""
        if self._ward_names is None:
            self._ward_names = WardNames.load(self.session, self.wards)
        return self._ward_names

    def store(self, notice: BirthNotice | DeathNotice, line: int | None, raw: str) -> None:
        """Store one notice (or reject it when it belongs to the other feed or repeats a key)."""
        kind, norm, details, pid = _normalise(notice, self.wards, self.ward_names)

        key = _key(notice.source_key)
        if (kind == "birth") != (self.feed == "births"):
            self.rejections.append(RejectionRow(line, key, "Bundle", f"a {kind} notification was sent to the "
                                                f"{self.feed} feed; send it to /api/v1/feeds/{kind}s"))
            return
        if key in self.seen:
            self.rejections.append(RejectionRow(line, key, "Bundle.identifier",
                                                "the same notification appears twice in this upload"))
            return
        self.seen.add(key)
        normalised = _dumps(norm)
        digest = keyring().content_hash(normalised)  # keyed: a digest of a record must not reveal its IDs
        s = self.session
        record = s.scalar(select(SourceRecord).where(SourceRecord.feed == self.feed,
                                                     SourceRecord.agency_code == self.agency.code,
                                                     SourceRecord.source_key == key))
        if record is not None and record.content_hash == digest:
            self.unchanged += 1
            return
        person_id = s.scalar(select(Person.id).where(Person.pid == pid)) if pid else None
        new = record is None
        if record is None:
            record = SourceRecord(feed=self.feed, agency_code=self.agency.code, source_key=key)
            s.add(record)
            self.accepted += 1
        else:
            self.updated += 1
        record.received_at, record.content_hash, record.raw = self.now, digest, raw
        record.normalised, record.run_id = json.loads(normalised), self.run_id
        record.person_id = person_id
        record.link_method, record.link_probability = ("pid", 1.0) if person_id else (None, None)
        s.flush()
        event = s.scalar(select(VitalEvent).where(VitalEvent.source_record_id == record.id))
        if event is None:
            event = VitalEvent(source_record_id=record.id, kind=kind)
            s.add(event)
        event.event_date = notice.child.birth_date if isinstance(notice, BirthNotice) else notice.death_date
        event.details = details
        if kind == "birth":
            event.mother_person_id = person_id
        else:
            event.subject_person_id = person_id
        s.flush()
        write_id_issues(s, self.agency.code, self.now, [(record.id, int(new), person_id, _id_issues(notice))])


def ingest_fhir(session: Session, feed: str, agency: Agency, *, body: bytes | None = None,
                lines: Iterable[bytes] | None = None, file_name: str = "", link: bool = True) -> RunResult:
    """Ingest one Bundle (``body``) or NDJSON (``lines``, one Bundle per line) of births or deaths.

    A refused Bundle (or an NDJSON file that is not UTF-8) stores nothing and returns a run with status
    ``rejected`` whose ``refusal`` is the error (its HTTP status and code); the run itself is kept.
    """
    check_agency_may_send(agency, feed)
    if feed not in ("births", "deaths"):
        raise FileRejected(f"the {feed} feed takes CSV, not FHIR", field="feed")
    run = _start_run(session, feed, agency, file_name)
    writer = _VitalWriter(session, feed, agency, run.id)
    savepoint = session.begin_nested()
    try:
        if body is not None:
            notices = parse_bundle(body, today=clock.today())
            _check_feed(notices, feed)
            for notice in notices:
                writer.store(notice, None, body.decode("utf-8", "replace"))
        else:
            reader = _Lines(lines or [])
            for number, item in parse_ndjson(reader):
                if isinstance(item, FhirRejection):
                    writer.rejections.append(RejectionRow(number, None, item.field or "Bundle", item.message))
                    continue
                for notice in item:
                    writer.store(notice, number, reader.last.decode("utf-8"))
    except (FhirRejection, FileRejected) as exc:
        # nothing of the body is stored; the run is, with the reason, for the agency to look up
        savepoint.rollback()
        result = RunResult(run.id, feed, agency.code, "rejected", file_error=exc.message,
                           rejections=[RejectionRow(None, None, exc.field or "file", exc.message)], refusal=exc)
        return _finish_run(session, run, result)
    savepoint.commit()
    from chudong.registry.service import after_run

    after_run(session, run.id, feed, link=link)
    result = RunResult(run.id, feed, agency.code, "done", writer.accepted, writer.updated, writer.unchanged,
                       len(writer.rejections), rejections=writer.rejections)
    return _finish_run(session, run, result)


def _check_feed(notices: list[BirthNotice | DeathNotice], feed: str) -> None:
    """Refuse a Bundle none of whose notices belongs to ``feed``, naming the feed it belongs to."""
    kinds = {"births" if isinstance(n, BirthNotice) else "deaths" for n in notices}
    if notices and feed not in kinds:
        right = kinds.pop()
        words = {"births": ("thông báo sinh", "birth"), "deaths": ("thông báo tử", "death")}[right]
        raise WrongFeed(f"đây là {words[0]}, gửi tới /api/v1/feeds/{right} (không phải {feed}) / this Bundle is a "
                        f"{words[1]} notification: send it to the {right} feed, /api/v1/feeds/{right} "
                        f"(not {feed}); nothing was stored", field="feed")


class _Lines:
    """NDJSON lines checked for UTF-8, remembering the last one (kept as the raw record)."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self.lines = lines
        self.last = b""

    def __iter__(self):
        for number, line in enumerate(self.lines, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                raise FileRejected(f"line {number} is not valid UTF-8; NDJSON must be UTF-8", field="file") from None
            self.last = line
            yield line
