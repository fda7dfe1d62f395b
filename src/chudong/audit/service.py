"""Append to and verify the hash-chained audit log.

Each entry's ``hash`` is SHA-256 over a canonical JSON of its fields and the previous
entry's hash, so editing, deleting or reordering any entry breaks the chain from that
point on. Anchors (``audit_anchor``) record the tail hash every ``ANCHOR_EVERY`` entries
and on the periodic ``audit.anchor`` job; published off-site, they also catch a tail
that was cut off or a chain rewritten wholesale.

Concurrency: the chain must stay linear with several writers. On PostgreSQL the writer
takes a transaction-level advisory lock before reading the tail. On SQLite a no-op
UPDATE acquires the database write lock first (the effect of BEGIN IMMEDIATE), so the
tail read afterwards is the latest and no other writer can append until commit. The
unique ``prev_hash`` is the last line of defence: two entries can never follow the same one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterator

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from chudong.audit.models import AuditAnchor, AuditEntry
from chudong.kit import clock
from chudong.kit.errors import Unprocessable

GENESIS = "0" * 64
ANCHOR_EVERY = 100
# Arbitrary constant naming "the audit chain" among PostgreSQL advisory locks.
_PG_LOCK_KEY = 0x636875646F6E67  # "chudong"
_VERIFY_CHUNK = 2000
# How far from its stored position a moved entry is looked for when diagnosing.
_REORDER_WINDOW = 1000


def canonical_json(value: Any) -> str:
    """Return the one canonical JSON text of ``value`` (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _at_text(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def entry_hash(*, seq: int, at: dt.datetime, actor: str, action: str, subject_kind: str, subject_id: str,
               purpose: str, details: dict, prev_hash: str) -> str:
    """Return the SHA-256 (hex) that an entry with these fields must carry."""
    body = canonical_json({
        "seq": seq, "at": _at_text(at), "actor": actor, "action": action,
        "subject_kind": subject_kind, "subject_id": subject_id, "purpose": purpose,
        "details": details, "prev_hash": prev_hash,
    })
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _recompute(e: Any, *, seq: int | None = None) -> str:
    return entry_hash(seq=e.seq if seq is None else seq, at=e.at, actor=e.actor, action=e.action,
                      subject_kind=e.subject_kind, subject_id=e.subject_id, purpose=e.purpose,
                      details=e.details, prev_hash=e.prev_hash)


def _lock_chain(session: Session) -> None:
    """Serialise appenders until the end of the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    else:
        # A write statement makes SQLite take the database write lock now (waiting up to
        # busy_timeout), before the tail is read — BEGIN IMMEDIATE semantics.
        session.execute(text("UPDATE audit_anchor SET seq = seq WHERE 1 = 0"))


def _tail(session: Session) -> AuditEntry | None:
    return session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()


def record(session: Session, *, actor: str, action: str, subject_kind: str, subject_id: str,
           purpose: str = "", details: dict | None = None) -> AuditEntry:
    """Append one entry to the audit chain in the caller's transaction and return it."""
    for name, value in (("actor", actor), ("action", action), ("subject_kind", subject_kind), ("subject_id", subject_id)):
        if not value or not value.strip():
            raise Unprocessable(f"audit {name} must not be empty", field=name)
    try:
        # Round-trip through JSON so what we hash is exactly what the database hands back.
        clean = json.loads(canonical_json(details or {}))
    except (TypeError, ValueError) as exc:
        raise Unprocessable(f"audit details must be plain JSON: {exc}", field="details") from None
    session.flush()
    _lock_chain(session)
    tail = _tail(session)
    seq = tail.seq + 1 if tail else 1
    prev = tail.hash if tail else GENESIS
    # Microsecond precision is what both backends store; hash what will be read back.
    at = clock.now().astimezone(dt.UTC)
    entry = AuditEntry(seq=seq, at=at, actor=actor, action=action, subject_kind=subject_kind,
                       subject_id=subject_id, purpose=purpose, details=clean, prev_hash=prev)
    entry.hash = _recompute(entry)
    session.add(entry)
    if seq % ANCHOR_EVERY == 0:
        session.add(AuditAnchor(seq=seq, hash=entry.hash, at=at))
    session.flush()
    return entry


def write_anchor(session: Session) -> AuditAnchor | None:
    """Anchor the current tail unless it is already anchored; return the new anchor, if any."""
    session.flush()
    _lock_chain(session)
    tail = _tail(session)
    if tail is None:
        return None
    if session.get(AuditAnchor, tail.seq) is not None:
        return None
    anchor = AuditAnchor(seq=tail.seq, hash=tail.hash, at=clock.now().astimezone(dt.UTC))
    session.add(anchor)
    session.flush()
    return anchor


def latest_anchor(session: Session) -> AuditAnchor | None:
    """Return the most recent anchor, or None before the first one."""
    return session.scalars(select(AuditAnchor).order_by(AuditAnchor.seq.desc()).limit(1)).first()


@dataclass(frozen=True)
class Problem:
    """The first place where the chain is broken: which entry, what kind, and why."""

    seq: int
    kind: str  # edited | deleted | reordered | anchor
    reason: str


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of verifying the chain."""

    entries: int
    last_seq: int
    last_hash: str
    last_anchor: AuditAnchor | None
    problem: Problem | None

    @property
    def ok(self) -> bool:
        """Return whether the chain is intact."""
        return self.problem is None

    def summary(self) -> str:
        """Return the one-line verdict printed by ``chudong audit verify``."""
        if self.problem:
            p = self.problem
            return f"chain BROKEN at seq {p.seq}: {p.kind} — {p.reason}"
        anchor = (f"last anchor seq {self.last_anchor.seq} {self.last_anchor.hash}"
                  if self.last_anchor else "no anchor yet")
        return f"chain intact: {self.entries} entries, last hash {self.last_hash or GENESIS}, {anchor}"


def _entries(session: Session) -> Iterator[Any]:
    """Yield every entry as a plain row, in seq order, a chunk at a time (flat memory)."""
    table = AuditEntry.__table__
    after = 0
    while True:
        chunk = session.execute(select(table).where(table.c.seq > after).order_by(table.c.seq).limit(_VERIFY_CHUNK)).all()
        if not chunk:
            return
        yield from chunk
        after = chunk[-1].seq


def _diagnose_hash_mismatch(session: Session, e: Any) -> Problem:
    """Tell an entry whose content changed from one moved to another position."""
    candidates: list[int] = []
    if e.prev_hash == GENESIS:
        candidates.append(1)
    else:
        before = session.scalars(select(AuditEntry.seq).where(AuditEntry.hash == e.prev_hash)).first()
        if before is not None:
            candidates.append(before + 1)
    # The predecessor may have moved too (a swap): look for the original seq nearby.
    candidates += sorted(range(max(1, e.seq - _REORDER_WINDOW), e.seq + _REORDER_WINDOW + 1),
                         key=lambda s: abs(s - e.seq))
    for written_as in candidates:
        if written_as != e.seq and _recompute(e, seq=written_as) == e.hash:
            return Problem(e.seq, "reordered",
                           f"the entry stored at seq {e.seq} was written as seq {written_as} (entries moved or renumbered)")
    return Problem(e.seq, "edited", "hash mismatch: the entry's content was changed after it was written")


def verify(session: Session, external_anchors: list[tuple[int, str]] | None = None) -> VerifyReport:
    """Walk the whole chain and the anchors; report the first broken entry, if any.

    ``external_anchors`` are (seq, hash) pairs published off-site earlier: they catch a
    chain rewritten wholesale together with the ``audit_anchor`` table.
    """
    count = 0
    prev_seq = 0
    prev_hash = GENESIS
    problem: Problem | None = None
    for e in _entries(session):
        count += 1
        if _recompute(e) != e.hash:
            problem = _diagnose_hash_mismatch(session, e)
        elif e.seq != prev_seq + 1:
            missing = f"seq {prev_seq + 1}" if e.seq == prev_seq + 2 else f"seq {prev_seq + 1}–{e.seq - 1}"
            problem = Problem(prev_seq + 1, "deleted", f"gap in the sequence: {missing} missing before seq {e.seq}")
        elif e.prev_hash != prev_hash:
            problem = Problem(e.seq, "deleted",
                              f"prev_hash mismatch: entry {e.seq} does not follow entry {prev_seq} "
                              "(an entry was removed or replaced)")
        if problem:
            break
        prev_seq, prev_hash = e.seq, e.hash

    anchors = [(a.seq, a.hash, "stored anchor") for a in
               session.scalars(select(AuditAnchor).order_by(AuditAnchor.seq)).all()]
    anchors += [(s, h, "published anchor") for s, h in external_anchors or []]
    last = latest_anchor(session)
    if problem is None:
        for seq, h, what in sorted(anchors):
            if seq > prev_seq:
                problem = Problem(prev_seq + 1, "deleted",
                                  f"the chain ends at seq {prev_seq} but a {what} covers seq {seq}: the tail was cut off")
                break
            stored = session.scalars(select(AuditEntry.hash).where(AuditEntry.seq == seq)).first()
            if stored != h:
                problem = Problem(seq, "anchor", f"entry {seq} does not match the {what} {h[:16]}…: the chain was rewritten")
                break
    return VerifyReport(entries=count, last_seq=prev_seq, last_hash=prev_hash if count else "",
                        last_anchor=last, problem=problem)


def chain_length(session: Session) -> int:
    """Return the number of audit entries."""
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0
