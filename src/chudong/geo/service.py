"""Load administrative units into the database and resolve old codes to new wards."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import vietnam_provinces as vp
import yaml
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from vietnam_provinces import _ward_conversion_2025 as conversion
from vietnam_provinces.legacy import base as legacy

from chudong.geo.models import LegacyWard, Province, ReferenceData, Ward, WardMapping

DATASET = "vietnam-provinces"
DEFAULT_CLASSES_FILE = Path(__file__).with_name("ward_classes.yaml")
AREA_CLASSES = ("urban", "rural", "disadvantaged")


@dataclass(frozen=True)
class LoadResult:
    """What ``load_units`` did."""

    provinces: int
    wards: int
    legacy_wards: int
    mappings: int
    skipped: bool


def _read_classes(path: Path) -> tuple[set[int], dict[int, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    districts = {int(c) for c in data.get("disadvantaged_legacy_districts") or []}
    wards = {int(k): str(v) for k, v in (data.get("wards") or {}).items()}
    for code, cls in wards.items():
        if cls not in AREA_CLASSES:
            raise ValueError(f"{path}: wards.{code}: {cls!r} is not one of {', '.join(AREA_CLASSES)}")
    return districts, wards


def classify_ward(ward: vp.Ward, districts: set[int], explicit: dict[int, str]) -> str:
    """Return urban / rural / disadvantaged for a 2025 ward by the documented rule."""
    if int(ward.code) in explicit:
        return explicit[int(ward.code)]
    kind = ward.division_type.value
    if kind == "xã" and districts:
        entry = conversion.NEW_TO_OLD.get(int(ward.code))
        olds = entry.old_wards if entry else ()
        if olds and all(o.district_code in districts for o in olds):
            return "disadvantaged"
    if kind == "đặc khu":
        return "disadvantaged"
    return "urban" if kind == "phường" else "rural"


def units_version(path: Path = DEFAULT_CLASSES_FILE) -> str:
    """Return the version of the units data: the package's data version and a digest of the classes file.

    The digest is stable across processes, so a second run on the same database skips the reload.
    """
    return f"{vp.__data_version__}|{path.name}|{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"


def load_units(session: Session, classes_file: Path | None = None) -> LoadResult:
    """Load all provinces, wards, legacy wards and the old→new mapping (idempotent)."""
    path = classes_file or DEFAULT_CLASSES_FILE
    districts, explicit = _read_classes(path)
    version = units_version(path)
    loaded = session.get(ReferenceData, DATASET)
    if loaded is not None and loaded.version == version:
        return LoadResult(0, 0, 0, 0, skipped=True)

    for model in (WardMapping, LegacyWard, Ward, Province):
        session.execute(delete(model))

    provinces = [
        {"code": int(p.code), "name": p.name, "division_type": p.division_type.value}
        for p in vp.Province.iter_all()
    ]
    wards = [
        {
            "code": int(w.code), "name": w.name, "division_type": w.division_type.value,
            "province_code": int(w.province_code),
            "area_class": classify_ward(w, districts, explicit),
        }
        for w in vp.Ward.iter_all()
    ]
    district_names = {int(d.code): d.name for d in legacy.District.iter_all()}
    province_names = {int(p.code): p.name for p in legacy.Province.iter_all()}
    legacy_rows = []
    for w in legacy.Ward.iter_all():
        dcode = int(w.district_code)
        pcode = int(w.province_code)
        legacy_rows.append({
            "code": int(w.code), "name": w.name, "district_code": dcode,
            "district_name": district_names.get(dcode, ""), "province_code": pcode,
            "province_name": province_names.get(pcode, ""),
        })
    known_new = {w["code"] for w in wards}
    known_old = {w["code"] for w in legacy_rows}
    mappings = []
    for old_code, entry in conversion.OLD_TO_NEW.items():
        if old_code not in known_old:
            continue
        for i, ref in enumerate(dict.fromkeys(entry.new_wards)):
            if ref.code in known_new:
                mappings.append({
                    "legacy_code": old_code, "new_code": ref.code,
                    "partly_merged": entry.old_ward.is_partly_merged, "is_primary": i == 0,
                })
    session.execute(insert(Province), provinces)
    session.execute(insert(Ward), wards)
    session.execute(insert(LegacyWard), legacy_rows)
    session.execute(insert(WardMapping), mappings)
    if loaded is None:
        session.add(ReferenceData(name=DATASET, version=version))
    else:
        loaded.version = version
    session.flush()
    return LoadResult(len(provinces), len(wards), len(legacy_rows), len(mappings), skipped=False)


@dataclass(frozen=True)
class WardResolution:
    """A ward code as received, resolved to a 2025 ward."""

    ward_code: int
    was_legacy: bool
    ambiguous: bool  # an old ward split across several new wards: the primary one is used


def resolve_ward(session: Session, code: int, province_code: int | None = None) -> WardResolution | None:
    """Resolve a received ward code (2025 or pre-2025) to a 2025 ward, or None if unknown.

    A code that exists as a 2025 ward is taken as such; otherwise it is looked up as a
    legacy code and mapped through the official conversion table.
    """
    ward = session.get(Ward, code)
    if ward is not None and (province_code is None or ward.province_code == province_code):
        return WardResolution(code, was_legacy=False, ambiguous=False)
    rows = session.execute(
        select(WardMapping.new_code, WardMapping.is_primary).where(WardMapping.legacy_code == code)
    ).all()
    if not rows:
        return None
    primary = next((r.new_code for r in rows if r.is_primary), rows[0].new_code)
    return WardResolution(primary, was_legacy=True, ambiguous=len(rows) > 1)


def ward_lookup_table(session: Session) -> dict[int, tuple[int, bool, bool]]:
    """Return {received code: (2025 ward code, was_legacy, ambiguous)} for bulk validation."""
    table: dict[int, tuple[int, bool, bool]] = {}
    rows = session.execute(select(WardMapping.legacy_code, WardMapping.new_code, WardMapping.is_primary)).all()
    counts: dict[int, int] = {}
    for r in rows:
        counts[r.legacy_code] = counts.get(r.legacy_code, 0) + 1
    for r in rows:
        if r.is_primary or r.legacy_code not in table:
            table[r.legacy_code] = (r.new_code, True, counts[r.legacy_code] > 1)
    for code in session.scalars(select(Ward.code)):
        table[code] = (code, False, False)  # a 2025 code always wins over a legacy one
    return table


# -- ward names as people write them --------------------------------------------------------------

# ward code as received → (2025 ward code, was_legacy, ambiguous): ``ward_lookup_table``
WardTable = dict[int, tuple[int, bool, bool]]

# unit type words and their abbreviations (written forms: "P. Hải Châu", "TT Nam Phước", "Q. Hải Châu")
_WARD_TYPES = {"phuong": "phuong", "p": "phuong", "xa": "xa", "x": "xa", "thi tran": "thi tran", "tt": "thi tran",
               "dac khu": "dac khu", "dk": "dac khu"}
_AREA_TYPES = {"quan": "", "q": "", "huyen": "", "h": "", "thi xa": "", "tx": "", "thanh pho": "", "tp": "",
               "tinh": "", "t": "", "thanh pho trung uong": ""}
_PUNCTUATION = str.maketrans({c: " " for c in ".,;:_/()'\"’-–—"})
_PARTS = re.compile(r"[,;]")
_DASH = re.compile(r"[-–—]")


def name_words(text: str) -> str:
    """Return ``text`` as lower-case words without diacritics or punctuation (đ → d), for name look-ups."""
    decomposed = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d").replace("Ð", "D")
                                       .replace("ð", "d"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().translate(_PUNCTUATION).split())


def _split_type(words: str, types: dict[str, str]) -> tuple[str | None, str]:
    """Return (unit type or None, bare name) of a written unit name ("p hai chau" → ("phuong", "hai chau"))."""
    for prefix in sorted(types, key=len, reverse=True):
        if words.startswith(prefix + " ") and len(words) > len(prefix) + 1:
            return types[prefix] or None, words[len(prefix) + 1:]
    return None, words


@dataclass
class WardNames:
    """Resolve a ward written in words (2025 or pre-2025, with or without diacritics or unit type) to a 2025 ward.

    ``P. Hải Châu`` / ``phuong hai chau`` (a 2025 ward), ``Thạch Thang - Hải Châu`` or ``Phường Thạch
    Thang, Quận Hải Châu`` (a pre-2025 ward and its district), ``Hải Châu, Đà Nẵng`` (ward, province).
    A name that fits more than one 2025 ward resolves to nothing: the caller says so.
    """

    new: dict[tuple[str | None, str], set[int]]  # (type, bare name) and (None, bare name) → 2025 ward codes
    legacy: dict[tuple[str | None, str], set[int]]  # the same for pre-2025 wards → legacy codes
    new_province: dict[int, set[str]]  # 2025 ward → bare names of its province (2025 and the pre-2025 ones)
    legacy_places: dict[int, set[str]]  # legacy ward → bare names of its district and province
    table: WardTable

    @classmethod
    def load(cls, session: Session, table: "WardTable | None" = None) -> "WardNames":
        """Build the look-up tables from the units tables."""
        table = table if table is not None else ward_lookup_table(session)
        new: dict[tuple[str | None, str], set[int]] = {}
        legacy_index: dict[tuple[str | None, str], set[int]] = {}
        provinces = {code: _split_type(name_words(name), _AREA_TYPES)[1]
                     for code, name in session.execute(select(Province.code, Province.name))}
        new_province: dict[int, set[str]] = {}
        for code, name, province in session.execute(select(Ward.code, Ward.name, Ward.province_code)):
            kind, bare = _split_type(name_words(name), _WARD_TYPES)
            for key in ((kind, bare), (None, bare)):
                new.setdefault(key, set()).add(code)
            new_province[code] = {provinces.get(province, "")}
        legacy_places: dict[int, set[str]] = {}
        for code, name, district, province in session.execute(
                select(LegacyWard.code, LegacyWard.name, LegacyWard.district_name, LegacyWard.province_name)):
            kind, bare = _split_type(name_words(name), _WARD_TYPES)
            for key in ((kind, bare), (None, bare)):
                legacy_index.setdefault(key, set()).add(code)
            old_province = _split_type(name_words(province), _AREA_TYPES)[1]
            legacy_places[code] = {_split_type(name_words(district), _AREA_TYPES)[1], old_province}
            hit = table.get(code)
            if hit is not None:  # an old province's name still says where its wards are now
                new_province.setdefault(hit[0], set()).add(old_province)
        return cls(new, legacy_index, new_province, legacy_places, table)

    def resolve(self, text: str) -> tuple[int, int | None, bool] | None:
        """Return (2025 ward code, the pre-2025 code it was written as or None, ambiguous split) or None.

        The first comma-separated part is the ward, the others its district / province; when that
        finds nothing, a dash may separate the ward from its district (``Thạch Thang - Hải Châu``;
        some names hold a dash themselves: ``Văn Miếu - Quốc Tử Giám`` is tried whole first).
        """
        raw = [p for p in _PARTS.split(text.strip()) if p.strip()]
        if not raw:
            return None
        hit = self._resolve_parts([name_words(p) for p in raw])
        if hit is None and _DASH.search(raw[0]):
            hit = self._resolve_parts([name_words(p) for p in (*_DASH.split(raw[0]), *raw[1:]) if p.strip()])
        return hit

    def _resolve_parts(self, parts: list[str]) -> tuple[int, int | None, bool] | None:
        parts = [p for p in parts if p]
        if not parts:
            return None
        kind, bare = _split_type(parts[0], _WARD_TYPES)
        places = {_split_type(p, _AREA_TYPES)[1] for p in parts[1:]}
        news = {c for c in self.new.get((kind, bare), ()) if not places or places & self.new_province.get(c, set())}
        if len(news) == 1:
            return news.pop(), None, False
        if news:
            return None  # several 2025 wards of that name: the place must be written
        olds = {c for c in self.legacy.get((kind, bare), ()) if not places or places <= self.legacy_places.get(c, set())}
        targets = {self.table[c][0] for c in olds if c in self.table}
        if len(targets) != 1:
            return None
        old = min(olds)
        return targets.pop(), old, self.table[old][2]

    def resolve_address(self, text: str) -> tuple[int, int | None, bool] | None:
        """Return the ward of a free-text address ("Tổ 5, P. Hải Châu, Đà Nẵng"): the first part that names one."""
        parts = [p for p in _PARTS.split(text.strip()) if p.strip()]
        for i in range(len(parts)):
            hit = self.resolve(", ".join(parts[i:]))
            if hit is not None:
                return hit
        return None

