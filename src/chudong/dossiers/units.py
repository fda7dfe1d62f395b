"""Handling units, officers and workload-balanced routing across competent units."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chudong.dossiers.models import Dossier, Officer, Unit
from chudong.dossiers.statemachine import IN_PROGRESS
from chudong.geo.models import Ward
from chudong.kit.bulk import one_of
from chudong.kit.errors import Conflict, NotFound, Unprocessable

# province-level units seeded for every province: (agency, code prefix, Vietnamese name)
PROVINCE_UNITS = (
    ("police", "CA", "Công an tỉnh/thành phố"),
    ("social_insurance", "BHXH", "Bảo hiểm xã hội tỉnh/thành phố"),
    ("education", "SGD", "Sở Giáo dục và Đào tạo"),
    ("health", "SYT", "Sở Y tế"),
    ("culture_tourism", "SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("agriculture_environment", "SNNMT", "Sở Nông nghiệp và Môi trường"),
    ("construction", "SXD", "Sở Xây dựng"),
    ("electricity", "DL", "Công ty Điện lực"),
    ("water", "CN", "Công ty Cấp nước"),
    ("justice", "STP", "Sở Tư pháp"),
)
# units seeded in every commune: (agency, code prefix, Vietnamese name prefix)
COMMUNE_UNITS = (
    ("justice", "TP", "Bộ phận tư pháp – hộ tịch"),
    ("commune_committee", "UB", "Ủy ban nhân dân"),
)
ROLES = ("officer", "unit_head")


def seed_units(session: Session, province_code: int) -> int:
    """Create the handling units of a province (idempotent); return how many were added."""
    wards = session.scalars(select(Ward).where(Ward.province_code == province_code)).all()
    if not wards:
        raise NotFound(f"no wards for province {province_code}; run `chudong units load` first")
    existing = set(session.scalars(select(Unit.code).where(Unit.province_code == province_code)))
    added = 0
    for agency, prefix, name in PROVINCE_UNITS:
        code = f"{prefix}-{province_code:02d}"
        if code not in existing:
            session.add(Unit(code=code, name=name, agency=agency, province_code=province_code,
                             ward_code=None, services=["*"], capacity_weight=1.0))
            added += 1
    for w in wards:
        for agency, prefix, name in COMMUNE_UNITS:
            code = f"{prefix}-{w.code}"
            if code not in existing:
                session.add(Unit(code=code, name=f"{name} {w.name}", agency=agency,
                                 province_code=province_code, ward_code=w.code, services=["*"],
                                 capacity_weight=1.0))
                added += 1
    session.flush()
    return added


def add_officer(session: Session, *, username: str, full_name: str, unit_code: str,
                role: str = "officer") -> Officer:
    """Create an officer of a unit (the agency is the unit's)."""
    if role not in ROLES:
        raise Unprocessable(f"role must be one of {', '.join(ROLES)}", field="role")
    unit = session.get(Unit, unit_code)
    if unit is None:
        raise NotFound(f"unit {unit_code!r} does not exist", field="unit_code")
    if session.scalar(select(Officer.id).where(Officer.username == username)) is not None:
        raise Conflict(f"officer {username!r} already exists", field="username")
    officer = Officer(username=username, full_name=full_name, unit_code=unit_code, agency=unit.agency,
                      role=role, active=True)
    session.add(officer)
    session.flush()
    return officer


class Router:
    """Pick a handling unit for each new dossier, balancing open work over capacity.

    The units of the province are loaded once per batch. Open work is counted only when a
    choice has to be made (several competent units), once per agency and only over that
    agency's units: routing to the residence ward's single unit, the common case, costs no
    count over the dossier table.
    """

    def __init__(self, session: Session, province_code: int) -> None:
        self.session = session
        self.units: dict[str, list[Unit]] = defaultdict(list)
        for u in session.scalars(select(Unit).where(Unit.province_code == province_code).order_by(Unit.code)):
            self.units[u.agency].append(u)
        # dossiers routed by this router, then (once counted) open dossiers per unit
        self.load: dict[str, int] = defaultdict(int)
        self._counted: set[str] = set()
        # candidate units per (agency, service, ward, routing): computed once per batch, not per dossier
        self._cache: dict[tuple[str, str, int | None, str], list[Unit]] = {}

    def _count_open(self, agency: str) -> None:
        codes = [u.code for u in self.units.get(agency, [])]
        rows = self.session.execute(
            select(Dossier.handling_unit_code, func.count())
            .where(one_of(self.session, Dossier.handling_unit_code, codes),
                   Dossier.status.in_(sorted(IN_PROGRESS | {"detected", "offered"})))
            .group_by(Dossier.handling_unit_code)
        ).all()
        for code, n in rows:
            self.load[code] += n
        self._counted.add(agency)

    def _candidates(self, agency: str, service_id: str, ward_code: int | None, routing: str) -> list[Unit]:
        key = (agency, service_id, ward_code if routing == "residence_ward" else None, routing)
        found = self._cache.get(key)
        if found is None:
            competent = [u for u in self.units.get(agency, []) if "*" in u.services or service_id in u.services]
            if routing == "residence_ward":
                local = [u for u in competent if u.ward_code == ward_code and ward_code is not None]
                province = [u for u in competent if u.ward_code is None]
                found = local or province or competent
            else:  # any_competent_unit: handling independent of administrative boundaries
                found = competent
            self._cache[key] = found
        return found

    def pick(self, agency: str, service_id: str, ward_code: int | None, routing: str) -> Unit | None:
        """Return the unit that should handle the dossier (None when the province has none)."""
        candidates = self._candidates(agency, service_id, ward_code, routing)
        if not candidates:
            return None
        load = self.load
        if len(candidates) == 1:
            best = candidates[0]
        else:
            if agency not in self._counted:
                self._count_open(agency)
            best = min(candidates, key=lambda u: ((load[u.code] + 1) / max(u.capacity_weight, 0.01), u.code))
        load[best.code] += 1
        return best
