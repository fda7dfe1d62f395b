"""Load administrative units into the database and resolve old codes to new wards."""

from __future__ import annotations

import hashlib
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
