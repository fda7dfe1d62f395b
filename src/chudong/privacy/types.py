"""Column types that seal personal data transparently, and the search-hash columns beside them.

- ``Sealed(kind, blind=...)``: a text value stored sealed; with ``blind`` it has a search-hash
  column in the same table, and ``column == value`` / ``column.in_(values)`` compare the
  hashes (``Person.pid == "048..."`` keeps working, through the unique index on ``pid_hash``).
  Ordering or pattern comparisons on a sealed column are refused when the statement is built.
- ``SealedInt(kind)``: an integer stored sealed (household income).
- ``SealedFields(fields)``: a JSON object whose named fields (at any depth) are sealed, the
  rest left searchable as JSON (``source_record.normalised``).
- ``SealedValues(kind)``: a JSON object whose every string value is sealed (notification
  destinations: channel → address).

ORM and Core statements (``select``, ``insert``, ``update`` on the table) seal and open
values on the way; raw SQL (``text()``, COPY) bypasses the types and must use
``chudong.privacy.crypto`` itself, as the ingest pipeline does.
"""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import JSON, Text, event
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from chudong.privacy.crypto import INT_KINDS, keyring

# comparisons whose result on ciphertext would be meaningless (and silently wrong)
_REFUSED = {
    operators.lt, operators.le, operators.gt, operators.ge, operators.between_op, operators.not_between_op,
    operators.like_op, operators.not_like_op, operators.ilike_op, operators.not_ilike_op,
    operators.contains_op, operators.not_contains_op, operators.startswith_op, operators.not_startswith_op,
    operators.endswith_op, operators.not_endswith_op, operators.match_op, operators.not_match_op,
    operators.regexp_match_op, operators.not_regexp_match_op, operators.concat_op,
}


class _SealedComparator(TypeDecorator.Comparator):
    """Equality and IN on a sealed column compare its search hashes; ordering and patterns are refused."""

    def operate(self, op, *other, **kwargs):  # type: ignore[no-untyped-def]
        expr = self.expr
        sealed = expr.type
        if op in (operators.eq, operators.ne, operators.in_op, operators.not_in_op):
            values = other[0] if other else None
            if op in (operators.eq, operators.ne) and values is None:
                return super().operate(op, *other, **kwargs)  # IS NULL: a NULL value has a NULL hash
            hashed = self._hash_column(expr, sealed)
            if op in (operators.eq, operators.ne):
                target = sealed.blind_value(values)
                return hashed == target if op is operators.eq else hashed != target
            items = [sealed.blind_value(v) for v in values]
            return hashed.in_(items) if op is operators.in_op else hashed.not_in(items)
        if op in _REFUSED:
            raise TypeError(f"{_name(expr)} is encrypted: it can only be compared for equality "
                            "(through its search hash), not ordered or matched in SQL")
        return super().operate(op, *other, **kwargs)

    @staticmethod
    def _hash_column(expr, sealed: Sealed):  # type: ignore[no-untyped-def]
        table = getattr(expr, "table", None)
        if sealed.blind is None or table is None or sealed.blind not in table.c:
            raise TypeError(f"{_name(expr)} is encrypted and has no search hash: it cannot be compared in SQL")
        return table.c[sealed.blind]


def _name(expr: Any) -> str:
    table = getattr(expr, "table", None)
    return f"{getattr(table, 'name', '?')}.{getattr(expr, 'name', '?')}"


class Sealed(TypeDecorator[str]):
    """Text sealed with the current data key; ``blind`` names its search-hash column, if any."""

    impl = Text
    cache_ok = True
    comparator_factory = _SealedComparator  # type: ignore[assignment]

    def __init__(self, kind: str, blind: str | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.blind = blind

    def blind_value(self, value: object) -> str:
        """Return the search hash a literal compared with this column is looked up by."""
        if not isinstance(value, str):
            raise TypeError(f"a {self.kind} value compared with an encrypted column must be text, "
                            f"not {type(value).__name__}")
        return keyring().blind(self.kind, value)

    def process_bind_param(self, value: str | None, dialect) -> str | None:  # type: ignore[override]
        if value is None:
            return None
        return keyring().seal(value, self.kind)

    def process_result_value(self, value: str | None, dialect) -> str | None:  # type: ignore[override]
        if value is None:
            return None
        return keyring().open(value, self.kind)


class _SealedWhole(TypeDecorator[Any]):
    """A value sealed as ``kind`` with no search hash: it cannot be compared in SQL at all."""

    impl = Text
    cache_ok = True
    comparator_factory = _SealedComparator  # type: ignore[assignment]

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.blind = None


class SealedInt(_SealedWhole):
    """An integer sealed as its decimal text."""

    cache_ok = True  # SQLAlchemy reads it from each class itself

    def process_bind_param(self, value: int | None, dialect) -> str | None:  # type: ignore[override]
        if value is None:
            return None
        return keyring().seal(str(int(value)), self.kind)

    def process_result_value(self, value: str | None, dialect) -> int | None:  # type: ignore[override]
        if value is None:
            return None
        return int(keyring().open(value, self.kind))


# -- JSON with sealed fields -------------------------------------------------------------------

def map_protected(data: Any, fields: dict[str, str] | None, kind: str, fn: Callable[[Any, str], Any]) -> Any:
    """Return a copy of ``data`` with ``fn(value, kind)`` applied to its protected values.

    With ``fields`` (name → kind) the protected values are those of the named fields, at any
    depth; without, every non-empty text value of the (flat) object, as ``kind``.
    """
    if isinstance(data, list):
        return [map_protected(v, fields, kind, fn) for v in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for k, v in data.items():
        if fields is None:
            out[k] = fn(v, kind) if isinstance(v, str) and v else v
        elif isinstance(v, (dict, list)):
            out[k] = map_protected(v, fields, kind, fn)
        else:
            leaf_kind = fields.get(k)
            out[k] = v if leaf_kind is None or v is None else fn(v, leaf_kind)
    return out


def typed(plain: str, kind: str) -> Any:
    """Return an opened value as its type (income: int)."""
    return int(plain) if kind in INT_KINDS else plain


def seal_fields(data: Any, fields: dict[str, str]) -> Any:
    """Return a copy of ``data`` with the values of ``fields`` (name → kind) sealed, at any depth."""
    seal = keyring().seal
    return map_protected(data, fields, "", lambda v, k: seal(str(v), k))


def open_fields(data: Any, fields: dict[str, str]) -> Any:
    """Return a copy of ``data`` with the sealed values of ``fields`` opened (integers back to int)."""
    open_ = keyring().open
    return map_protected(data, fields, "", lambda v, k: typed(open_(v, k), k))


class SealedFields(TypeDecorator[dict]):
    """A JSON object whose fields named in ``fields`` ((name, kind) pairs) are sealed, at any depth."""

    impl = JSON
    cache_ok = True

    def __init__(self, fields: tuple[tuple[str, str], ...]) -> None:
        super().__init__()
        self.fields = fields
        self._map = dict(fields)

    def process_bind_param(self, value: Any, dialect) -> Any:  # type: ignore[override]
        return None if value is None else seal_fields(value, self._map)

    def process_result_value(self, value: Any, dialect) -> Any:  # type: ignore[override]
        return None if value is None else open_fields(value, self._map)


class SealedValues(TypeDecorator[dict]):
    """A JSON object whose every text value is sealed as ``kind`` (keys stay readable)."""

    impl = JSON
    cache_ok = True

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def process_bind_param(self, value: dict | None, dialect) -> Any:  # type: ignore[override]
        return None if value is None else map_protected(value, None, self.kind, keyring().seal)

    def process_result_value(self, value: dict | None, dialect) -> Any:  # type: ignore[override]
        return None if value is None else map_protected(value, None, self.kind, keyring().open)


# -- search-hash columns -----------------------------------------------------------------------

def blind_default(kind: str, source: str) -> Callable[[Any], str | None]:
    """Return a column default computing the search hash of ``source`` (Core inserts that omit it)."""

    def default(context: Any) -> str | None:
        value = context.get_current_parameters().get(source)
        return None if value is None else keyring().blind(kind, value)

    return default


def keep_search_hashes(cls: type) -> None:
    """Keep every search-hash column of a mapped class in step when its sealed attribute is set."""
    for column in cls.__table__.columns:  # type: ignore[attr-defined]
        sealed = column.type
        if isinstance(sealed, Sealed) and sealed.blind:
            _listen(cls, column.key, sealed.blind, sealed.kind)


def _listen(cls: type, attr: str, hash_attr: str, kind: str) -> None:
    def on_set(target: Any, value: Any, _old: Any, _initiator: Any) -> None:
        setattr(target, hash_attr, None if value is None else keyring().blind(kind, value))

    event.listen(getattr(cls, attr), "set", on_set)


class SealedDocument(_SealedWhole):
    """A whole JSON document (object or list) sealed as one value: nothing of it is readable in SQL.

    For documents read only whole, by the application: dossier fields, event and result data,
    a life event's explanation, delivery receipts, message bodies.
    """

    cache_ok = True  # SQLAlchemy reads it from each class itself

    def process_bind_param(self, value: Any, dialect) -> str | None:  # type: ignore[override]
        if value is None:
            return None
        import json

        return keyring().seal(json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True), self.kind)

    def process_result_value(self, value: str | None, dialect) -> Any:  # type: ignore[override]
        if value is None:
            return None
        import json

        return json.loads(keyring().open(value, self.kind))
