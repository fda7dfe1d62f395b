"""The wards of a province, read straight from ``vietnam-provinces`` (no database needed)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import vietnam_provinces as vp
import yaml
from vietnam_provinces import _ward_conversion_2025 as conversion
from vietnam_provinces.legacy import base as legacy

# The geo feature's default classification file (read directly: no database layer needed here).
DEFAULT_CLASSES_FILE = Path(__file__).resolve().parent.parent / "geo" / "ward_classes.yaml"

# Relative population weight of a ward by kind: urban wards are several times larger
# than rural communes; mountain communes are small; Hoàng Sa has no residents.
_KIND_WEIGHT = {"phường": 1.0, "xã": 0.45, "đặc khu": 0.08}
_DISADVANTAGED_WEIGHT = 0.22


@dataclass(frozen=True)
class SynthWard:
    """One 2025 ward with what the generator needs to populate it."""

    code: int
    name: str
    kind: str  # phường / xã / đặc khu
    area_type: str  # urban / rural (the poverty-line area type)
    disadvantaged: bool
    legacy_codes: tuple[int, ...]  # pre-2025 codes that map (primarily) to this ward
    birth_province: int  # province code of birth registration for its locals (pre-2025)
    weight: float


@dataclass(frozen=True)
class SynthProvince:
    """A province: its name and populated wards."""

    code: int
    name: str
    short_name: str
    wards: tuple[SynthWard, ...]


@lru_cache(maxsize=1)
def _new_codes() -> frozenset[int]:
    return frozenset(int(w.code) for w in vp.Ward.iter_all())


@lru_cache(maxsize=1)
def _legacy_codes() -> frozenset[int]:
    return frozenset(int(w.code) for w in legacy.Ward.iter_all())


def _disadvantaged_districts() -> set[int]:
    data = yaml.safe_load(DEFAULT_CLASSES_FILE.read_text(encoding="utf-8")) or {}
    return {int(c) for c in data.get("disadvantaged_legacy_districts") or []}


def legacy_codes_for(new_code: int) -> tuple[int, tuple[int, ...]]:
    """Return (birth province, usable old codes) for a 2025 ward.

    An old code is usable as "outdated ward" noise only when the official table maps it
    primarily to this ward and it is not itself a 2025 code (which would be read as such).
    """
    entry = conversion.NEW_TO_OLD.get(new_code)
    if entry is None:
        return 0, ()
    provinces = Counter(o.province_code for o in entry.old_wards)
    usable = []
    for old in entry.old_wards:
        back = conversion.OLD_TO_NEW.get(old.code)
        if back is None or not back.new_wards or back.new_wards[0].code != new_code:
            continue
        if old.code in _new_codes() or old.code not in _legacy_codes():
            continue
        usable.append(old.code)
    return provinces.most_common(1)[0][0], tuple(sorted(set(usable)))


def load_province(code: int) -> SynthProvince:
    """Return the province with its wards, weights and legacy codes; ValueError if unknown."""
    try:
        province = vp.Province.from_code(code)
    except Exception:
        raise ValueError(f"province code {code} is not a 2025 province") from None
    districts = _disadvantaged_districts()
    wards = []
    for w in vp.Ward.iter_by_province(code):
        wcode = int(w.code)
        kind = w.division_type.value
        birth_province, olds = legacy_codes_for(wcode)
        entry = conversion.NEW_TO_OLD.get(wcode)
        disadvantaged = kind == "đặc khu" or bool(
            kind == "xã" and entry and entry.old_wards and all(o.district_code in districts for o in entry.old_wards)
        )
        weight = _KIND_WEIGHT.get(kind, 0.45) * (_DISADVANTAGED_WEIGHT if disadvantaged else 1.0)
        if kind == "đặc khu" and not olds:
            weight = 0.0  # an island zone without former communes (Hoàng Sa) has no residents
        # A stable per-ward spread so wards of one kind differ in size.
        weight *= 0.6 + 0.8 * random.Random(wcode).random()
        wards.append(SynthWard(
            code=wcode, name=w.name, kind=kind, area_type="urban" if kind == "phường" else "rural",
            disadvantaged=disadvantaged, legacy_codes=olds, birth_province=birth_province or code,
            weight=weight,
        ))
    if not wards:
        raise ValueError(f"province {code} has no wards")
    name = province.name
    short = name.removeprefix("Thành phố ").removeprefix("Tỉnh ")
    return SynthProvince(code=code, name=name, short_name=short, wards=tuple(wards))


@lru_cache(maxsize=1)
def all_province_codes() -> tuple[int, ...]:
    """Return every province code a personal ID number may start with (pre-2025 list)."""
    return tuple(sorted(int(p.code) for p in legacy.Province.iter_all()))
