"""Operations over every protected column: seal (migration), open (downgrade), rotate, rehash, check.

Each protected column is named once in ``PROTECTED``. The operations read the stored
(sealed) text directly — never through the ORM types — in batches of rows ordered by id,
and write back only the rows that change, so every one of them is idempotent and can be
stopped and run again: a rotation interrupted half-way leaves values sealed under the old
and the new key, both of which open.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Literal, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from chudong.privacy.crypto import KeyRing, SealError, is_sealed, keyring, kid_of
from chudong.privacy.types import map_protected, typed

Shape = Literal["text", "fields", "values"]
Mode = Literal["seal", "open", "rotate", "rehash", "check"]

# fields of a normalised agency record sealed inside its JSON (name → kind); the model's copy is
# chudong.registry.models.NORMALISED_SEALED (a test checks they agree)
RECORD_FIELDS = {"pid": "pid", "pid_as_sent": "pid", "pid_mismatch": "pid", "old_id": "pid", "pid_unverified": "pid",
                 "cmnd": "pid", "insurance_no": "insurance", "phone": "phone", "email": "email",
                 "income_per_person": "income"}


@dataclass(frozen=True)
class Protected:
    """One protected column: how its value is shaped and which columns derive from its plaintext."""

    table: str
    column: str
    kind: str  # for "fields": unused (each field has its kind)
    shape: Shape = "text"
    hash_column: str | None = None  # search hash of the plaintext
    content_hash_column: str | None = None  # keyed digest of the whole (JSON) record


# as sealed by revision 20261122_0010 (the migration uses this set; later additions get their own)
PROTECTED_0010: tuple[Protected, ...] = (
    Protected("person", "pid", "pid", hash_column="pid_hash"),
    Protected("person", "phone", "phone", hash_column="phone_hash"),
    Protected("person", "email", "email", hash_column="email_hash"),
    Protected("household", "income_per_person", "income"),
    Protected("licence", "holder_pid", "pid"),
    Protected("source_record", "raw", "record"),
    Protected("source_record", "normalised", "", "fields", content_hash_column="content_hash"),
    Protected("ingest_rejection", "reason", "record"),  # reasons quote the rejected value
    Protected("ingest_rejection", "record", "record"),
    Protected("notification", "destinations", "contact", "values"),
)
# sealed whole by revision 20261205_0020 (JSON documents become sealed text; ``quality_issue.detail`` was text)
PROTECTED_0020: tuple[Protected, ...] = (
    Protected("dossier", "fields", "dossier"),  # pre-filled ID numbers, incomes
    Protected("dossier_event", "data", "dossier"),
    Protected("dossier_result", "data", "dossier"),
    Protected("life_event", "reason", "reason"),  # the explanation quotes incomes and facts
    Protected("quality_issue", "detail", "record"),  # details quote the conflicting values (phones)
    Protected("delivery_receipt", "payload", "receipt"),
    Protected("notification", "rendered", "message"),  # message bodies, one-time codes included
)
PROTECTED: tuple[Protected, ...] = (*PROTECTED_0010,
                                    # revision 20261205_0017 (added empty: nothing to seal)
                                    Protected("person", "old_id", "pid", hash_column="old_id_hash"),
                                    *PROTECTED_0020)


def compact_json(obj: Any) -> str:
    """Return ``obj`` as the compact JSON the ingest pipeline hashes (keys in stored order)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Report:
    """What an operation saw and did, per protected column."""

    rows: Counter = field(default_factory=Counter)  # "table.column" → rows read
    changed: Counter = field(default_factory=Counter)  # "table.column" → rows written
    keys: dict[str, Counter] = field(default_factory=dict)  # "table.column" → {key id: values}
    hashes_wrong: Counter = field(default_factory=Counter)  # "table.column" → stale search hashes seen

    def key_counts(self, name: str) -> Counter:
        """Return the per-key-id counter of one column."""
        return self.keys.setdefault(name, Counter())


# -- value transforms ---------------------------------------------------------------------------

def _load_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


class _Op:
    """The per-value work of one mode with one key ring."""

    def __init__(self, mode: Mode, ring: KeyRing, report: Report) -> None:
        self.mode, self.ring, self.report = mode, ring, report

    def plain(self, value: Any, kind: str) -> str:
        """Return the plaintext of a stored value (plaintext already: not sealed yet, or opened by a downgrade)."""
        if self.mode in ("seal", "open") and not is_sealed(value):
            return str(value)
        return self.ring.open(value, kind)

    def leaf(self, value: Any, kind: str, name: str, json_leaf: bool) -> Any:
        """Return what to store for one protected value in this mode (check: count its key id)."""
        mode = self.mode
        if mode == "seal":
            return value if is_sealed(value) else self.ring.seal(str(value), kind)
        if mode == "rotate":
            return self.ring.reseal(value, kind)
        if mode == "open":
            if not is_sealed(value):
                return value
            plain = self.ring.open(value, kind)
            return typed(plain, kind) if json_leaf else plain
        if mode == "check":
            self.report.key_counts(name)[kid_of(value) or "(not encrypted)"] += 1
            if is_sealed(value):
                self.ring.open(value, kind)  # proves the key is right and the value intact
        return value  # check, rehash: values stay


def _process_row(op: _Op, specs: Sequence[Protected], row: Any) -> dict[str, Any]:
    """Return the changed columns of one row."""
    changes: dict[str, Any] = {}
    mapping = row._mapping
    ring, mode = op.ring, op.mode
    derive = mode in ("seal", "rehash", "check")
    for spec in specs:
        if mode == "rehash" and not (spec.hash_column or spec.content_hash_column):
            continue  # nothing derived from this value: the search key does not matter
        name = f"{spec.table}.{spec.column}"
        value = mapping[spec.column]
        if value is None:
            continue
        if spec.shape == "text":
            new = op.leaf(value, spec.kind, name, False)
            if new != value:
                changes[spec.column] = new
            if spec.hash_column and derive:
                want = ring.blind(spec.kind, op.plain(value, spec.kind))
                if mapping[spec.hash_column] != want:
                    if mode == "check":
                        op.report.hashes_wrong[name] += 1
                    else:
                        changes[spec.hash_column] = want
            continue
        data = _load_json(value)
        fields = RECORD_FIELDS if spec.shape == "fields" else None
        new_data = map_protected(data, fields, spec.kind, lambda v, k: op.leaf(v, k, name, True))
        if new_data != data:
            changes[spec.column] = new_data
        if spec.content_hash_column and mode != "rotate":
            plain = map_protected(data, fields, spec.kind, lambda v, k: typed(op.plain(v, k), k))
            text = compact_json(plain)
            # back to the plain SHA-256 the schema before encryption used
            want = hashlib.sha256(text.encode()).hexdigest() if mode == "open" else ring.content_hash(text)
            if mapping[spec.content_hash_column] != want:
                if mode == "check":
                    op.report.hashes_wrong[name] += 1
                else:
                    changes[spec.content_hash_column] = want
    return changes


# -- the batched walk ---------------------------------------------------------------------------

def _pages(conn: Connection, table: sa.TableClause, columns: list[str], batch: int) -> Iterator[list]:
    last = None
    while True:
        q = sa.select(table.c.id, *(table.c[c] for c in columns)).order_by(table.c.id).limit(batch)
        if last is not None:
            q = q.where(table.c.id > last)
        rows = conn.execute(q).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _columns_of(specs: Sequence[Protected]) -> list[str]:
    cols: list[str] = []
    for s in specs:
        for c in (s.column, s.hash_column, s.content_hash_column):
            if c and c not in cols:
                cols.append(c)
    return cols


def run(conn: Connection, mode: Mode, *, specs: Sequence[Protected] = PROTECTED, ring: KeyRing | None = None,
        batch: int = 2000, progress: Callable[[str, int], None] | None = None) -> Report:
    """Apply ``mode`` to every protected column of ``specs``, batch by batch; return what was done.

    Never commits: the caller's transaction (a migration, or the CLI's unit of work) does.
    """
    ring = ring or keyring()
    report = Report()
    op = _Op(mode, ring, report)
    by_table: dict[str, list[Protected]] = {}
    for spec in specs:
        by_table.setdefault(spec.table, []).append(spec)
    present = set(sa.inspect(conn).get_table_names())
    for name, table_specs in by_table.items():
        if name not in present:
            continue
        columns = _columns_of(table_specs)
        json_cols = {s.column for s in table_specs if s.shape != "text"}
        table = sa.table(name, sa.column("id"), *(sa.column(c, sa.JSON() if c in json_cols else sa.Text())
                                                 for c in columns))
        for rows in _pages(conn, table, columns, batch):
            updates = []
            for row in rows:
                changes = _process_row(op, table_specs, row)
                if changes:
                    updates.append((row[0], changes))
                for s in table_specs:
                    report.rows[f"{s.table}.{s.column}"] += 1
            _write(conn, table, updates, json_cols, report, table_specs)
            if progress:
                progress(name, len(rows))
    return report


def _write(conn: Connection, table: sa.TableClause, updates: list[tuple[Any, dict[str, Any]]],
           json_cols: set[str], report: Report, specs: Sequence[Protected]) -> None:
    # one executemany per set of changed columns (most batches have one)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row_id, changes in updates:
        groups.setdefault(tuple(sorted(changes)), []).append({"_id": row_id, **{f"v_{k}": v for k, v in changes.items()}})
        for s in specs:
            if s.column in changes or (s.hash_column in changes) or (s.content_hash_column in changes):
                report.changed[f"{s.table}.{s.column}"] += 1
    for cols, params in groups.items():
        stmt = sa.update(table).where(table.c.id == sa.bindparam("_id")).values(
            {c: sa.bindparam(f"v_{c}", type_=sa.JSON() if c in json_cols else None) for c in cols})
        conn.execute(stmt, params)


def protected_names(specs: Sequence[Protected] = PROTECTED) -> list[str]:
    """Return "table.column" of every protected column."""
    return [f"{s.table}.{s.column}" for s in specs]


__all__ = ["PROTECTED", "PROTECTED_0010", "PROTECTED_0020", "Protected", "Report", "SealError", "compact_json", "protected_names", "run"]
