"""Generate a synthetic province: every agency feed in its real format, plus the ground truth.

Design for size (3,000,000 people on a 2-core machine):

- The population is split into chunks of at most ``chunk_size`` people, each inside one
  ward. A chunk is generated from its own ``random.Random`` seeded by (seed, chunk id),
  so the output depends only on the seed and the parameters, never on how many worker
  processes ran or in which order they finished.
- A worker returns the chunk's rows as CSV / NDJSON text; the parent appends them to the
  files in chunk order. Nothing about a person outlives its chunk, so memory stays
  bounded by a few chunks whatever the population.
- Personal ID numbers are unique without any shared state: within a chunk each
  (province, century/sex, year) prefix counts up inside the chunk's own block of the
  6-digit space, and a bijective scramble makes the serials look random.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import multiprocessing
import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chudong.kit.names import strip_diacritics
from chudong.kit.phones import OLD_MOBILE_PREFIXES
from chudong.synth import agencies, fhir_out
from chudong.synth.names import ETHNICITY_CHOICE, WeightedChoice, family_name, given_name, middle_name
from chudong.synth.noise import mistype_pid, typo
from chudong.synth.wards import SynthProvince, SynthWard, all_province_codes, load_province

GENERATOR_VERSION = 1
PROFILES = ("synth", "agencies")
TWIN_SHARE = 0.03
"""Share of households with two or more children whose first two are twins (agencies profile)."""

HEADERS: dict[str, tuple[str, ...]] = {
    "persons.csv": ("source_key", "pid", "full_name", "birth_date", "sex", "ethnicity", "ward_code",
                    "household_code", "phone", "email", "zalo_id", "death_date"),
    "households.csv": ("source_key", "household_code", "ward_code", "area_type", "head_pid", "income_per_person",
                       "survey_date", "employment", "dependants", "nutrition", "health_insurance",
                       "adult_education", "child_school_attendance", "housing_quality", "floor_area",
                       "water_source", "hygienic_latrine", "telecom_use", "information_assets"),
    "licences.csv": ("source_key", "kind", "licence_class", "number", "holder_pid", "holder_name",
                     "holder_birth_date", "holder_sex", "holder_ward_code", "issued_on", "expires_on",
                     "issuing_agency"),
    "schools.csv": ("source_key", "school_code", "name", "level", "ward_code", "catchment_wards"),
    "utilities.csv": ("source_key", "utility", "customer_no", "holder_pid", "holder_name", "holder_birth_date",
                      "holder_sex", "ward_code", "phone"),
    "building_plans.csv": ("source_key", "declarant_pid", "declarant_name", "declarant_birth_date",
                           "declarant_sex", "parcel", "ward_code", "declared_on", "floors", "floor_area_m2"),
    "pregnancies.csv": ("source_key", "mother_pid", "mother_name", "mother_birth_date", "ward_code",
                        "expected_date", "facility_id"),
    "truth.csv": ("file", "source_key", "role", "person_index", "pid", "noise"),
}
NDJSON_FILES = ("births.ndjson", "deaths.ndjson")
CHUNK_FILES = tuple(f for f in HEADERS if f != "schools.csv") + NDJSON_FILES
ALL_FILES = tuple(HEADERS) + NDJSON_FILES

# Vietnam's population by 5-year age band, % (GSO 2024 estimates, rounded) — used to
# check the household templates, which produce the pyramid.
AGE_PYRAMID_2024 = (7.0, 7.8, 8.0, 7.0, 6.6, 7.3, 8.0, 8.0, 7.4, 6.9, 6.2, 5.6, 4.9, 3.9, 2.7, 1.6, 1.0, 0.6, 0.3, 0.1)
HOUSEHOLD_SIZES = WeightedChoice(((1, 8), (2, 15), (3, 24), (4, 29), (5, 14), (6, 7), (7, 3)))
# Age-specific fertility (births per woman per year) by 5-year band from 15; scaled by
# FERTILITY_SCALE so the crude birth rate is ~14 per 1,000.
ASFR = (0.02, 0.10, 0.12, 0.09, 0.05, 0.012, 0.002)
FERTILITY_SCALE = 0.9
# Annual probability of death by age (upper bound of band → q), scaled to ~6.5 per 1,000.
MORTALITY = ((1, 0.012), (5, 0.0008), (15, 0.0004), (40, 0.0012), (50, 0.003), (60, 0.007),
             (70, 0.016), (80, 0.042), (90, 0.11), (200, 0.25))
MORTALITY_SCALE = 1.1
MILESTONES = (14, 25, 40, 60)
PID_SPACE = 1_000_000
PID_MULT = 387_419  # coprime with 10**6: x -> x*M mod 10**6 is a bijection
NUMBER_SPACE = 10_000_000_000
NUMBER_MULT = 7_919_313_447  # coprime with 10**10
MIGRANT_PROVINCES = WeightedChoice(((51, 20), (46, 12), (44, 6), (45, 6), (52, 5), (1, 8), (79, 10), (64, 4),
                                    (62, 3), (66, 3), (40, 4), (38, 3), (0, 16)))
CAUSES_OLD = WeightedChoice((
    (("I63.9", "Nhồi máu não"), 16), (("I21.9", "Nhồi máu cơ tim cấp"), 10), (("C34.9", "U ác phế quản và phổi"), 7),
    (("C22.0", "Ung thư tế bào gan"), 7), (("J44.9", "Bệnh phổi tắc nghẽn mạn tính"), 7),
    (("E11.9", "Đái tháo đường type 2"), 5), (("J18.9", "Viêm phổi"), 8), (("I50.9", "Suy tim"), 7),
    (("N18.9", "Bệnh thận mạn"), 4), (("C16.9", "U ác dạ dày"), 4), (("R54", "Già yếu"), 12), (("A41.9", "Nhiễm khuẩn huyết"), 4),
))
CAUSES_YOUNG = WeightedChoice((
    (("V89.2", "Tai nạn giao thông"), 30), (("W74", "Đuối nước"), 10), (("C92.0", "Bạch cầu cấp dòng tủy"), 5),
    (("I21.9", "Nhồi máu cơ tim cấp"), 8), (("P07.3", "Sinh non"), 10), (("A41.9", "Nhiễm khuẩn huyết"), 8),
    (("C22.0", "Ung thư tế bào gan"), 10), (("W19", "Ngã"), 8),
))
POVERTY_INDICATORS = ("employment", "dependants", "nutrition", "health_insurance", "adult_education",
                      "child_school_attendance", "housing_quality", "floor_area", "water_source",
                      "hygienic_latrine", "telecom_use", "information_assets")
POVERTY_LINE = {"urban": 2_000_000, "rural": 1_500_000}
MOBILE_PREFIXES = ("090", "091", "093", "094", "096", "097", "098", "032", "033", "034", "035", "036", "037",
                   "038", "039", "070", "076", "077", "078", "079", "081", "082", "083", "084", "085", "056", "058",
                   "086", "088", "089", "059")
_NEW_TO_OLD_MOBILE = {new: old for old, new in OLD_MOBILE_PREFIXES.items()}
EMAIL_DOMAINS = WeightedChoice((("gmail.com", 80), ("yahoo.com", 8), ("outlook.com", 5), ("icloud.com", 4), ("hotmail.com", 3)))
DRIVING_CLASSES = (  # (class, share of adults 18-70, validity years or 0 = never expires)
    ("A1", 0.62, 0), ("A", 0.05, 0), ("B1", 0.01, 0), ("B", 0.13, 10), ("C1", 0.015, 10), ("C", 0.02, 5),
    ("D1", 0.003, 5), ("D2", 0.004, 5), ("D", 0.006, 5), ("BE", 0.002, 5), ("C1E", 0.001, 5), ("CE", 0.006, 5),
    ("D1E", 0.0005, 5), ("D2E", 0.0005, 5), ("DE", 0.001, 5),
)
# The class printed on a licence issued before 1 January 2025 (Circular 12/2017/TT-BGTVT), with a term
# equal to the new class's (feeds reject a class the table of the issue date does not have).
_OLD_CLASS = {"A1": "A1", "A": "A2", "B1": "A3", "B": "B2", "C1": "B2", "C": "C", "D1": "D", "D2": "D", "D": "E",
              "BE": "FB2", "C1E": "FC", "CE": "FC", "D1E": "FD", "D2E": "FD", "DE": "FE"}
# Chance of holding at least one class beyond A1/A (upper bound of the union).
_HEAVY_SHARE = min(1.0, sum(share for klass, share, _ in DRIVING_CLASSES if klass not in ("A1", "A")))
PROFESSIONAL_LICENCES = (  # (kind, share of adults in the age range, ages, validity years, agency, number suffix)
    ("medical_licence", 0.008, (23, 65), 5, "Sở Y tế", "GPHN"),
    ("tour_guide_card", 0.004, (21, 60), 5, "Sở Văn hóa, Thể thao và Du lịch", "HDV"),
    ("veterinary_cert", 0.0015, (22, 65), 5, "Chi cục Chăn nuôi và Thú y", "CCHN-TY"),
    ("transport_licence", 0.004, (25, 65), 5, "Sở Xây dựng", "GPKDVT"),
)
SCHOOL_NAMESAKES = ("Lê Lợi", "Trần Phú", "Nguyễn Trãi", "Lý Thường Kiệt", "Phan Châu Trinh", "Nguyễn Du",
                    "Hoàng Diệu", "Quang Trung", "Trưng Vương", "Lê Quý Đôn", "Kim Đồng", "Võ Thị Sáu",
                    "Lý Tự Trọng", "Huỳnh Thúc Kháng", "Trần Cao Vân", "Nguyễn Bỉnh Khiêm", "Chu Văn An",
                    "Phan Bội Châu", "Trần Quốc Toản", "Nguyễn Văn Trỗi", "Hùng Vương", "Lê Văn Tám")


@dataclass(frozen=True)
class NoiseShares:
    """How often each kind of noise affects an agency record (0–1)."""

    legacy_ward: float = 0.08
    no_diacritics: float = 0.10
    nfd: float = 0.05
    upper: float = 0.08
    typo: float = 0.03
    given_first: float = 0.03
    no_middle: float = 0.03
    swapped_date: float = 0.02
    jan_first: float = 0.02
    missing_pid: float = 0.06
    mistyped_pid: float = 0.02
    old_cmnd: float = 0.02
    missing_mother_pid: float = 0.15
    nam_nu: float = 0.10
    duplicate: float = 0.01


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate."""

    people: int
    seed: int
    as_of: dt.date
    province_code: int
    noise: NoiseShares = field(default_factory=NoiseShares)
    chunk_size: int = 20_000
    profile: str = "synth"  # "agencies": names, dates and IDs damaged by source systems (synth.agencies)


@dataclass(frozen=True)
class ChunkSpec:
    """One slice of the population: ``people`` residents of one ward."""

    chunk_id: int
    ward_index: int
    people: int
    first_index: int


@dataclass
class ChunkResult:
    """A chunk's rows as text per file, and its counts."""

    chunk_id: int
    texts: dict[str, str]
    counts: Counter
    stats: Counter


def plan_chunks(province: SynthProvince, people: int, chunk_size: int) -> list[ChunkSpec]:
    """Split ``people`` over the wards by weight (largest remainder) and into chunks."""
    if people < 1:
        raise ValueError("--people must be at least 1")
    total = sum(w.weight for w in province.wards)
    shares = [people * w.weight / total for w in province.wards]
    counts = [int(s) for s in shares]
    order = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], i))
    for i in order[: people - sum(counts)]:
        counts[i] += 1
    specs: list[ChunkSpec] = []
    first = 0
    for ward_index, n in enumerate(counts):
        while n > 0:
            take = min(n, chunk_size)
            specs.append(ChunkSpec(len(specs), ward_index, take, first))
            first += take
            n -= take
    return specs


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap year: the law counts to 1 March
        return dt.date(day.year + years, 3, 1)


def _age(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _rb(rng: random.Random, n: int) -> int:
    """Return an integer in [0, n): ``randrange`` without its argument checks (hot path)."""
    return int(rng.random() * n)


def _rr(rng: random.Random, lo: int, hi: int) -> int:
    """Return an integer in [lo, hi)."""
    return lo + int(rng.random() * (hi - lo))


class Person:
    """One resident (true values), alive only while its chunk is generated."""

    __slots__ = ("index", "pid", "family", "middle", "given", "sex", "birth", "age", "ethnicity", "phone",
                 "email", "zalo", "household", "death", "death_reported", "origin")

    def __init__(self) -> None:
        self.pid = ""
        self.phone = ""
        self.email = ""
        self.zalo = ""
        self.death: dt.date | None = None
        self.death_reported = False

    @property
    def full_name(self) -> str:
        return f"{self.family} {self.middle} {self.given}"

    @property
    def person_index(self) -> str:
        return f"P{self.index:08d}"


class _Chunk:
    """Generates one chunk's rows."""

    def __init__(self, cfg: GeneratorConfig, province: SynthProvince, spec: ChunkSpec, n_chunks: int) -> None:
        self.cfg = cfg
        self.noise = cfg.noise
        self.province = province
        self.spec = spec
        self.ward: SynthWard = province.wards[spec.ward_index]
        self.rng = random.Random(f"chudong-synth:{cfg.seed}:{spec.chunk_id}")
        self.today = cfg.as_of
        self.t_ord = cfg.as_of.toordinal()
        self.block = PID_SPACE // n_chunks
        self.number_block = NUMBER_SPACE // n_chunks
        self.pid_offset = random.Random(f"chudong-synth-pid:{cfg.seed}").randrange(PID_SPACE)
        self.pid_counters: Counter = Counter()
        self.number_counter = 0
        self.key_counters: Counter = Counter()
        self.buffers = {name: io.StringIO() for name in CHUNK_FILES}
        self.writers = {name: csv.writer(self.buffers[name], lineterminator="\n") for name in HEADERS if name in self.buffers}
        self.counts: Counter = Counter()
        self.stats: Counter = Counter()
        self.facilities = _facilities(province)
        if cfg.profile not in PROFILES:
            raise ValueError(f"unknown noise profile {cfg.profile!r}; expected one of {', '.join(PROFILES)}")
        self.agencies = cfg.profile == "agencies"
        self._system_tags: list[str] | None = None
        self._system: agencies.System | None = None

    def system_for(self, tags: list[str]) -> agencies.System:
        """Return the source system of the record whose tags these are (drawn once per record)."""
        if tags is not self._system_tags:
            self._system_tags = tags
            self._system = agencies.pick_system(self.rng)
            tags.append(f"system:{self._system.name}")
        assert self._system is not None
        return self._system

    def facts(self, p: Person) -> agencies.Facts:
        """Return a person's true facts for the agencies profile's renderers."""
        return agencies.Facts(family=p.family, middle=p.middle, given=p.given, birth=p.birth, sex=p.sex,
                              pid=p.pid or None, old_id=None, phone=p.phone or None, ward=self.ward.code)

    # ---- keys, numbers, output -------------------------------------------------------
    def key(self, prefix: str) -> str:
        """Return a new source_key unique in the run for this prefix."""
        self.key_counters[prefix] += 1
        return f"{prefix}{self.spec.chunk_id:04d}{self.key_counters[prefix]:06d}"

    def number(self) -> str:
        """Return a unique, random-looking 10-digit document number."""
        x = self.spec.chunk_id * self.number_block + self.number_counter
        self.number_counter += 1
        return f"{(x * NUMBER_MULT + 12_345_678) % NUMBER_SPACE:010d}"

    def emit(self, file: str, row: list, truth: list[tuple[str, str, str, list[str]]]) -> None:
        """Write a row (sometimes twice: an exact duplicate) and its ground truth."""
        w = self.writers[file]
        w.writerow(row)
        self.counts[file] += 1
        dup = self.rng.random() < self.noise.duplicate
        if dup:
            w.writerow(row)
            self.counts[file] += 1
        for role, pindex, pid, tags in truth:
            self.writers["truth.csv"].writerow([file, row[0], role, pindex, pid, ";".join(tags + (["dup"] if dup else []))])
            self.counts["truth.csv"] += 1

    def emit_json(self, file: str, key: str, line: str, truth: list[tuple[str, str, str, list[str]]]) -> None:
        """Write one NDJSON Bundle (sometimes re-sent identically) and its ground truth."""
        buf = self.buffers[file]
        buf.write(line + "\n")
        self.counts[file] += 1
        dup = self.rng.random() < self.noise.duplicate
        if dup:
            buf.write(line + "\n")
            self.counts[file] += 1
        for role, pindex, pid, tags in truth:
            self.writers["truth.csv"].writerow([file, key, role, pindex, pid, ";".join(tags + (["dup"] if dup else []))])
            self.counts["truth.csv"] += 1

    # ---- people -------------------------------------------------------------------------
    def new_person(self, index: int, age_years: float, sex: str, family: str, minority: bool) -> Person:
        """Return a person of the given (fractional) age with true identity data."""
        rng = self.rng
        p = Person()
        p.index = index
        p.sex = sex
        p.family = family
        birth_ord = self.t_ord - int(max(age_years, 0.0) * 365.2425) - _rb(rng, 365)
        birth = dt.date.fromordinal(min(birth_ord, self.t_ord))
        if birth.year < 1955 and rng.random() < 0.3:
            birth = dt.date(birth.year, 1, 1)  # old records: only the year was known
        p.birth = birth
        p.age = _age(birth, self.today)
        p.middle = middle_name(rng, sex, birth.year)
        p.given = given_name(rng, sex)
        p.ethnicity = str(ETHNICITY_CHOICE.pick(rng)) if minority else "Kinh"
        p.origin = self.birth_province(birth)
        p.pid = self.pid_for(p.origin, birth.year, sex)
        if p.age >= 15 and rng.random() < (0.93 if p.age < 75 else 0.6):
            p.phone = "+84" + rng.choice(MOBILE_PREFIXES)[1:] + f"{_rb(rng, 10_000_000):07d}"
            if rng.random() < 0.7:
                p.zalo = str(rng.randrange(10**18, 10**19))
        if 18 <= p.age <= 55 and rng.random() < 0.25:
            ascii_given = strip_diacritics(p.given).lower()
            ascii_family = strip_diacritics(p.family).lower()
            p.email = f"{ascii_given}{ascii_family}{birth.year % 100:02d}{_rb(rng, 100)}@{EMAIL_DOMAINS.pick(rng)}"
        return p

    def birth_province(self, birth: dt.date) -> int:
        """Return the province code of birth registration (locals mostly, some migrants)."""
        rng = self.rng
        if rng.random() < 0.86:
            if birth >= dt.date(2025, 7, 1):
                return self.province.code
            home = self.ward.birth_province
            if home in (48, 49) and rng.random() < 0.1:
                return 97 - home  # moved between old Đà Nẵng and Quảng Nam
            return home
        code = int(MIGRANT_PROVINCES.pick(rng))
        return code or rng.choice(all_province_codes())

    def pid_for(self, province: int, year: int, sex: str) -> str:
        """Return a unique personal ID number with the structure of the law."""
        century = year // 100
        digit = {18: 8, 19: 0, 20: 2, 21: 4}[century] + (1 if sex == "F" else 0)
        prefix = f"{province:03d}{digit}{year % 100:02d}"
        n = self.pid_counters[prefix]
        if n >= self.block:
            raise RuntimeError("chunk too large for unique personal ID numbers; lower chunk_size")
        self.pid_counters[prefix] = n + 1
        # A per-prefix shift keeps the map bijective within the prefix but varies the serials.
        shift = (int(prefix) * 7_654_321 + self.pid_offset) % PID_SPACE
        serial = ((self.spec.chunk_id * self.block + n) * PID_MULT + shift) % PID_SPACE
        return f"{prefix}{serial:06d}"

    def household_members(self, size: int, minority: bool, first_index: int) -> list[Person]:
        """Return the members of one household (head first) from family templates."""
        rng = self.rng
        u = rng.uniform
        fam = family_name(rng, minority)
        specs: list[tuple[float, str, str]] = []  # (age, sex, family)
        if size == 1:
            if rng.random() < 0.6:
                specs.append((rng.triangular(48, 95, 60), "F" if rng.random() < 0.65 else "M", fam))
            else:
                specs.append((u(21, 40), "M" if rng.random() < 0.55 else "F", fam))
        elif size == 2 and rng.random() < 0.75:
            h = rng.triangular(46, 90, 58) if rng.random() < 0.5 else u(23, 33)
            specs.append((h, "M", fam))
            specs.append((max(19.0, h - u(-1, 6)), "F", family_name(rng, minority)))
        else:
            n_grand = 0
            if size >= 4:
                r = rng.random()
                n_grand = (1 if r < 0.5 else (2 if r < 0.8 else 0)) if size >= 5 else (1 if r < 0.25 else 0)
            single_parent = size == 2 or rng.random() < 0.06
            n_kids = max(1, size - (1 if single_parent else 2) - n_grand)
            ages = [u(0, 1.0) if rng.random() < 0.05 else u(0, 21)]
            for _ in range(n_kids - 1):
                ages.append(ages[-1] + u(1.2, 6))
            mother = max(ages) + rng.triangular(19, 38, 25)
            if single_parent:
                specs.append((mother, "F", family_name(rng, minority)))
                fam = specs[0][2]
            else:
                father = mother + u(-1, 7)
                specs.append((father, "M", fam))
                specs.append((mother, "F", family_name(rng, minority)))
            for a in ages:
                specs.append((a, "M" if rng.random() < 0.51 else "F", fam))
            if n_grand:
                g = min(98.0, mother + u(22, 32))
                if n_grand == 2:
                    specs.append((g + u(0, 5), "M", fam))
                    specs.append((g, "F", family_name(rng, minority)))
                else:
                    specs.append((g, "F" if rng.random() < 0.7 else "M", family_name(rng, minority)))
        specs = specs[:size]
        members = [self.new_person(first_index + i, a, s, f, minority) for i, (a, s, f) in enumerate(specs)]
        if self.agencies:
            self.maybe_twins(members)
        return members

    def maybe_twins(self, members: list[Person]) -> None:
        """Make the first two children of a household twins now and then (agencies profile)."""
        kids = [m for m in members[1:] if m.age < 21 and m.family == members[0].family]
        if len(kids) < 2 or self.rng.random() >= TWIN_SHARE:
            return
        a, b = kids[0], kids[1]
        b.birth, b.age = a.birth, a.age
        while strip_diacritics(b.given) == strip_diacritics(a.given):
            b.given = given_name(self.rng, b.sex)
        b.pid = self.pid_for(b.origin, b.birth.year, b.sex)
        self.stats["twins"] += 1

    # ---- agency views -------------------------------------------------------------------
    def agency_name(self, p: Person, tags: list[str]) -> str:
        """Return the name as an agency typed it."""
        if self.agencies:
            return agencies.render_name(self.rng, self.system_for(tags), self.facts(p), tags)
        rng = self.rng
        n = self.noise
        family, middle, given = p.family, p.middle, p.given
        r = rng.random()
        if r < n.typo:
            tags.append("typo")
            given = typo(rng, given)
        words = [family, middle, given]
        r = rng.random()
        if r < n.given_first:
            tags.append("given_first")
            words = [given, family, middle]
        elif r < n.given_first + n.no_middle:
            tags.append("no_middle")
            words = [family, given]
        name = " ".join(words)
        r = rng.random()
        if r < n.no_diacritics:
            tags.append("no_diacritics")
            name = strip_diacritics(name)
        elif r < n.no_diacritics + n.nfd:
            tags.append("nfd")
            name = unicodedata.normalize("NFD", name)
        if rng.random() < n.upper:
            tags.append("upper")
            name = name.upper()
        return name

    def agency_birth(self, p: Person, tags: list[str]) -> str:
        """Return the birth date as an agency recorded it."""
        if self.agencies:
            return agencies.render_birth(self.rng, self.system_for(tags), self.facts(p), tags)
        b = p.birth
        r = self.rng.random()
        if r < self.noise.swapped_date and b.day <= 12 and b.day != b.month:
            tags.append("swapped_date")
            return dt.date(b.year, b.day, b.month).isoformat()
        if r > 1 - self.noise.jan_first and p.age >= 60 and (b.month, b.day) != (1, 1):
            tags.append("jan_first")
            return dt.date(b.year, 1, 1).isoformat()
        return b.isoformat()

    def agency_ward(self, tags: list[str]) -> int:
        """Return the ward code an agency has: sometimes the pre-2025 one."""
        if self.ward.legacy_codes and self.rng.random() < self.noise.legacy_ward:
            tags.append("legacy_ward")
            return self.rng.choice(self.ward.legacy_codes)
        return self.ward.code

    def agency_sex(self, p: Person, tags: list[str]) -> str:
        """Return the sex as M/F or, for some agencies' records, Nam/Nữ."""
        if self.rng.random() < self.noise.nam_nu:
            return "Nam" if p.sex == "M" else "Nữ"
        return p.sex

    def agency_pid(self, p: Person, tags: list[str], missing: float | None = None, fhir: bool = False) -> str:
        """Return the ID number as an agency has it: missing, mistyped, old CMND or right."""
        if self.agencies:
            system = self.system_for(tags)
            written = agencies.record_date(self.rng, system, p.birth, self.today)
            return agencies.render_pid(self.rng, system, self.facts(p), written, tags) or ""
        n = self.noise
        r = self.rng.random()
        miss = n.missing_pid if missing is None else missing
        if r < miss:
            tags.append("missing_pid")
            return ""
        r -= miss
        if r < n.mistyped_pid:
            tags.append("mistyped_pid")
            return mistype_pid(self.rng, p.pid, serial_only=fhir)
        r -= n.mistyped_pid
        if r < n.old_cmnd and p.age >= 30 and not fhir:  # an old CMND is not a national_id identifier
            tags.append("old_cmnd")
            head = "20" if p.origin in (48, 49) else str(_rr(self.rng, 1, 39)).zfill(2)
            return head + f"{_rb(self.rng, 10_000_000):07d}"
        return p.pid

    def messy_phone(self, e164: str) -> str:
        """Return the number in one of the forms people and agencies write it."""
        if not e164:
            return ""
        national = "0" + e164[3:]
        r = self.rng.random()
        if r < 0.4:
            return e164
        if r < 0.68:
            return national
        if r < 0.78:
            return f"{national[:4]} {national[4:7]} {national[7:]}"
        if r < 0.86:
            return f"{national[:4]}.{national[4:7]}.{national[7:]}"
        if r < 0.92:
            return f"+84 {e164[3:6]} {e164[6:9]} {e164[9:]}"
        old = _NEW_TO_OLD_MOBILE.get(national[:3])
        return old + national[3:] if old else national

    # ---- the chunk ----------------------------------------------------------------------
    def run(self) -> ChunkResult:
        """Generate every row of this chunk."""
        rng = self.rng
        remaining = self.spec.people
        index = self.spec.first_index
        hh_no = 0
        while remaining > 0:
            size = min(int(HOUSEHOLD_SIZES.pick(rng)), remaining)
            minority = self.ward.disadvantaged and rng.random() < 0.55
            members = self.household_members(size, minority, index)
            hh_no += 1
            code = f"HGD{self.ward.code:05d}{self.spec.chunk_id:04d}{hh_no:05d}"
            for p in members:
                p.household = code
            index += len(members)
            remaining -= len(members)
            self.household(members, code)
        self.stats["households"] += hh_no
        texts = {name: buf.getvalue() for name, buf in self.buffers.items()}
        return ChunkResult(self.spec.chunk_id, texts, self.counts, self.stats)

    def household(self, members: list[Person], code: str) -> None:
        """Write every record about one household and its members."""
        for p in members:
            self.life(p)
        for p in members:
            self.person_row(p)
            self.licences(p)
        head = members[0]
        self.utilities(head)
        self.poverty(head, members, code)
        if head.death is None and self.rng.random() < 0.003:
            self.building_plan(head)

    def life(self, p: Person) -> None:
        """Decide deaths in the past year and births / pregnancies of women."""
        rng = self.rng
        q = next(q for upper, q in MORTALITY if p.age < upper) * MORTALITY_SCALE
        if rng.random() < q:
            days_ago = _rb(rng, 365)
            p.death = dt.date.fromordinal(self.t_ord - days_ago)
            p.death_reported = days_ago > 20 or (days_ago > 3 and rng.random() < 0.4)
            self.stats["deaths_last_year"] += 1
            if days_ago <= 30:
                self.death_notice(p)
            return
        if p.sex == "F" and 18 <= p.age < 50:
            f = ASFR[(p.age - 15) // 5] * FERTILITY_SCALE
            r = rng.random()
            if r < f * 90 / 365:
                self.birth_notice(p)
            elif r < f * 90 / 365 + f * 280 / 365 * 0.8:
                self.pregnancy(p)

    def person_row(self, p: Person) -> None:
        """Write the population registry record."""
        tags: list[str] = []
        ward = self.agency_ward(tags)
        self.emit("persons.csv", [
            self.key("DC"), p.pid, p.full_name, p.birth.isoformat(), p.sex, p.ethnicity, ward, p.household,
            self.messy_phone(p.phone), p.email, p.zalo, p.death.isoformat() if p.death and p.death_reported else "",
        ], [("resident", p.person_index, p.pid, tags)])
        self.stats["persons"] += 1
        self.stats[f"age_band_{min(p.age // 5, 19):02d}"] += 1

    def licence_row(self, p: Person, kind: str, klass: str, number: str, issued: dt.date,
                    expires: dt.date | None, agency: str, prefix: str) -> None:
        """Write one licence as its issuing agency has it."""
        tags: list[str] = []
        pid = p.pid if kind == "id_card" else self.agency_pid(p, tags)
        name = self.agency_name(p, tags)
        birth = self.agency_birth(p, tags)
        sex = self.agency_sex(p, tags)
        ward = self.agency_ward(tags)
        self.emit("licences.csv", [
            self.key(prefix), kind, klass, number, pid, name, birth, sex, ward, issued.isoformat(),
            expires.isoformat() if expires else "", agency,
        ], [("holder", p.person_index, p.pid, tags)])

    def licences(self, p: Person) -> None:
        """Write the person's ID card, passport, driving and professional licences."""
        rng = self.rng
        self.id_card(p)
        if rng.random() < (0.12 if p.age >= 18 else 0.03):
            child = p.age < 14
            years = 5 if child else 10
            issued = dt.date.fromordinal(self.t_ord - _rb(rng, years * 365 + 300))
            if _age(p.birth, issued) < 0:
                issued = p.birth + dt.timedelta(days=30)
            years = 5 if _age(p.birth, issued) < 14 else 10
            number = rng.choice("CP") + f"{_rb(rng, 10_000_000):07d}"
            self.licence_row(p, "passport", "", number, issued, _add_years(issued, years),
                             "Cục Quản lý xuất nhập cảnh", "HC")
        if 18 <= p.age <= 75:
            # One draw decides whether the person holds any class beyond A1/A (most do not).
            heavy = rng.random() < _HEAVY_SHARE * (0.6 if p.sex == "F" else 1.0)
            for klass, share, years in DRIVING_CLASSES:
                if klass in ("A1", "A"):
                    if rng.random() >= share:
                        continue
                elif not heavy or rng.random() >= share / _HEAVY_SHARE:
                    continue
                if years:
                    issued = dt.date.fromordinal(self.t_ord - _rb(rng, years * 365 + 200))
                else:
                    start = max(_add_years(p.birth, 18), dt.date(1995, 1, 1)).toordinal()
                    issued = dt.date.fromordinal(_rr(rng, start, self.t_ord + 1))
                if _age(p.birth, issued) < 18:
                    issued = _add_years(p.birth, 18)
                agency = ("Sở Giao thông vận tải " if issued < dt.date(2025, 3, 1) else "Công an ") + self.province.name
                printed = _OLD_CLASS[klass] if issued < dt.date(2025, 1, 1) else klass
                self.licence_row(p, "driving_licence", printed, f"{self.province.code:02d}" + self.number(), issued,
                                 _add_years(issued, years) if years else None, agency, "LX")
        for kind, share, (lo, hi), years, agency, suffix in PROFESSIONAL_LICENCES:
            if lo <= p.age <= hi and rng.random() < share:
                issued = dt.date.fromordinal(self.t_ord - _rb(rng, years * 365 + 120))
                number = f"{self.number()[-6:]}/{self.province.code:03d}-{suffix}"
                self.licence_row(p, kind, "", number, issued, _add_years(issued, years),
                                 f"{agency} {self.province.name}", suffix[:3])

    def id_card(self, p: Person) -> None:
        """Write the ID card by the milestone rules of Law 26/2023 (arts. 21 and 24)."""
        rng = self.rng
        today = self.today
        if p.age < 14:
            if rng.random() < 0.04:
                start = max(p.birth.toordinal(), dt.date(2024, 7, 1).toordinal())
                if start <= self.t_ord:
                    issued = dt.date.fromordinal(_rr(rng, start, self.t_ord + 1))
                    self.licence_row(p, "id_card", "", p.pid, issued, _add_years(p.birth, 14), _ID_AGENCY, "CC")
            return
        if rng.random() >= 0.97:
            return
        last = max(m for m in MILESTONES if m <= p.age)
        nxt = next((m for m in MILESTONES if m > p.age), None)
        after = next((m for m in MILESTONES if nxt is not None and m > nxt), None)
        last_day = _add_years(p.birth, last)
        if nxt is not None:
            early_from = _add_years(_add_years(p.birth, nxt), -2)
            if early_from <= today and rng.random() < 0.3:
                # Issued within the 2 years before the next milestone: valid to the one after.
                issued = dt.date.fromordinal(_rr(rng, early_from.toordinal(), self.t_ord + 1))
                self.licence_row(p, "id_card", "", p.pid, issued,
                                 _add_years(p.birth, after) if after else None, _ID_AGENCY, "CC")
                return
        campaign = dt.date.fromordinal(_rr(rng, dt.date(2021, 3, 1).toordinal(), dt.date(2023, 6, 30).toordinal()))
        issued = max(last_day + dt.timedelta(days=_rb(rng, 240)), campaign)
        if issued > today:
            # Not renewed yet after the milestone: the card held is the previous one.
            prev = max((m for m in MILESTONES if m < last), default=None)
            if prev is None:
                return
            issued = max(_add_years(p.birth, prev) + dt.timedelta(days=_rb(rng, 240)), campaign)
            if issued > last_day:
                issued = last_day - dt.timedelta(days=_rr(rng, 800, 1500))
            self.licence_row(p, "id_card", "", p.pid, issued, last_day, _ID_AGENCY, "CC")
            return
        self.licence_row(p, "id_card", "", p.pid, issued, _add_years(p.birth, nxt) if nxt else None, _ID_AGENCY, "CC")

    def utilities(self, head: Person) -> None:
        """Write the household's electricity and water contracts (held by the head)."""
        rng = self.rng
        water_share = 0.9 if self.ward.area_type == "urban" else 0.45
        for utility, share, prefix in (("electricity", 0.99, "PC"), ("water", water_share, "NC")):
            if rng.random() >= share:
                continue
            tags: list[str] = []
            self.emit("utilities.csv", [
                self.key(f"{prefix}"), utility, f"{prefix}{self.province.code:02d}{self.number()[-9:]}",
                self.agency_pid(head, tags, missing=0.3), self.agency_name(head, tags),
                self.agency_birth(head, tags), self.agency_sex(head, tags), self.agency_ward(tags),
                self.messy_phone(head.phone),
            ], [("holder", head.person_index, head.pid, tags)])

    def poverty(self, head: Person, members: list[Person], code: str) -> None:
        """Write the annual poverty review result when the household was surveyed."""
        rng = self.rng
        area = self.ward.area_type
        poor_p, near_p = (0.12, 0.08) if self.ward.disadvantaged else ((0.02, 0.025) if area == "rural" else (0.005, 0.01))
        r = rng.random()
        if r < poor_p:
            status, deprived = "poor", _rr(rng, 3, 8)
        elif r < poor_p + near_p:
            status, deprived = "near_poor", _rb(rng, 3)
        elif r < poor_p + near_p + 0.08:
            status, deprived = "not_poor", _rb(rng, 4)
        else:
            return
        line = POVERTY_LINE[area]
        factor = rng.uniform(0.35, 1.0) if status != "not_poor" else rng.uniform(1.05, 3.0)
        income = int(line * factor) // 10_000 * 10_000
        flags = set(rng.sample(POVERTY_INDICATORS, deprived))
        survey = dt.date.fromordinal(self.t_ord - _rb(rng, 90))
        tags: list[str] = []
        self.emit("households.csv", [
            self.key("HN"), code, self.agency_ward(tags), area, head.pid, income, survey.isoformat(),
            *[1 if i in flags else 0 for i in POVERTY_INDICATORS],
        ], [("head", head.person_index, head.pid, tags)])
        self.stats[f"households_{status}"] += 1

    def building_plan(self, p: Person) -> None:
        """Write a declared plan to build a house on a parcel."""
        rng = self.rng
        tags: list[str] = []
        declared = dt.date.fromordinal(self.t_ord - _rb(rng, 60))
        floors = rng.choice((1, 1, 2, 2, 2, 3, 3, 4, 5))
        self.emit("building_plans.csv", [
            self.key("XD"), self.agency_pid(p, tags, missing=0.02), self.agency_name(p, tags),
            self.agency_birth(p, tags), self.agency_sex(p, tags), f"{_rr(rng, 1, 61)}/{_rr(rng, 1, 901)}",
            self.agency_ward(tags), declared.isoformat(), floors, _rr(rng, 40, 181) * floors,
        ], [("declarant", p.person_index, p.pid, tags)])

    def facility(self, hospital_share: float) -> fhir_out.Facility:
        """Return a hospital of the ward's area or the ward's health station."""
        if self.rng.random() < hospital_share:
            group = self.facilities.get(self.ward.birth_province) or self.facilities[0]
            return self.rng.choice(group)
        return fhir_out.Facility(f"{self.province.code:02d}{200 + self.spec.ward_index:03d}",
                                 "Trạm Y tế " + self.ward.name)

    def fhir_address(self, tags: list[str]) -> fhir_out.FhirAddress:
        """Return the home address as the hospital recorded it."""
        code = self.agency_ward(tags)
        return fhir_out.FhirAddress(f"Tổ {_rr(self.rng, 1, 61)}", code, self.ward.name, self.province.name)

    def birth_notice(self, mother: Person) -> None:
        """Write a birth notification (twins ~1.5%) from the last 90 days."""
        rng = self.rng
        tags: list[str] = []
        day = dt.date.fromordinal(self.t_ord - _rb(rng, 90))
        twins = rng.random() < 0.015
        children = []
        for order in ((1, 2) if twins else (0,)):
            weight = int(rng.gauss(2500 if twins else 3150, 420))
            children.append(fhir_out.NewbornChild(
                "M" if rng.random() < 0.53 else "F", day.isoformat(),
                f"{_rb(rng, 24):02d}:{_rb(rng, 60):02d}", max(900, min(weight, 5200)), order))
        pid = self.agency_pid(mother, tags, missing=self.noise.missing_mother_pid, fhir=True)
        name = self.agency_name(mother, tags)
        middle_given = name.split(" ", 1)[1] if " " in name else name
        info = fhir_out.MotherInfo(pid, name.split(" ", 1)[0], middle_given, name, self.agency_birth(mother, tags),
                                   self.messy_phone(mother.phone), self.fhir_address(tags))
        key = self.key("KS")
        sent = dt.datetime.combine(min(day + dt.timedelta(days=_rb(rng, 3)), self.today),
                                   dt.time(_rr(rng, 7, 18), _rb(rng, 60)))
        line = fhir_out.birth_bundle(rng, key, self.facility(0.85), info, children, sent.isoformat() + "+07:00")
        truth = [("mother", mother.person_index, mother.pid, tags)]
        for i, _ in enumerate(children):
            truth.append(("child", f"N{self.spec.chunk_id:04d}{self.key_counters['KS']:05d}{i}", "", []))
        self.emit_json("births.ndjson", key, line, truth)
        self.stats["births_last_90_days"] += len(children)

    def pregnancy(self, mother: Person) -> None:
        """Write an antenatal-care record of an expected birth in the coming months."""
        rng = self.rng
        tags: list[str] = []
        expected = dt.date.fromordinal(self.t_ord + _rr(rng, 1, 281))
        fac = self.facility(0.6)
        self.emit("pregnancies.csv", [
            self.key("TS"), self.agency_pid(mother, tags, missing=0.1), self.agency_name(mother, tags),
            self.agency_birth(mother, tags), self.agency_ward(tags), expected.isoformat(), fac.facility_id,
        ], [("mother", mother.person_index, mother.pid, tags)])

    def death_notice(self, p: Person) -> None:
        """Write a death notification (Patient.deceasedDateTime, ICD-10 cause)."""
        rng = self.rng
        tags: list[str] = []
        icd, display = (CAUSES_OLD if p.age >= 50 else CAUSES_YOUNG).pick(rng)
        pid = self.agency_pid(p, tags, missing=0.0, fhir=True)
        name = self.agency_name(p, tags)
        assert p.death is not None
        death_at = dt.datetime.combine(p.death, dt.time(_rb(rng, 24), _rb(rng, 60)))
        info = fhir_out.DeceasedInfo(
            pid, name.split(" ", 1)[0], name.split(" ", 1)[1] if " " in name else name, name, p.sex,
            self.agency_birth(p, tags), death_at.isoformat() + "+07:00", icd, display, self.fhir_address(tags))
        key = self.key("BT")
        sent = min(death_at + dt.timedelta(hours=_rr(rng, 1, 30)),
                   dt.datetime.combine(self.today, dt.time(23, 0)))
        line = fhir_out.death_bundle(rng, key, self.facility(0.6), info, sent.isoformat() + "+07:00")
        self.emit_json("deaths.ndjson", key, line, [("deceased", p.person_index, p.pid, tags)])
        self.stats["deaths_last_30_days"] += 1


_ID_AGENCY = "Cục Cảnh sát quản lý hành chính về trật tự xã hội"


def _facilities(province: SynthProvince) -> dict[int, list[fhir_out.Facility]]:
    """Return the hospitals by birth-registration province (old Đà Nẵng 48, Quảng Nam 49)."""
    if province.code == 48:
        return {
            48: [fhir_out.Facility("48001", "Bệnh viện Đà Nẵng"),
                 fhir_out.Facility("48002", "Bệnh viện Phụ sản - Nhi Đà Nẵng"),
                 fhir_out.Facility("48003", "Bệnh viện C Đà Nẵng")],
            49: [fhir_out.Facility("49001", "Bệnh viện Đa khoa Trung ương Quảng Nam"),
                 fhir_out.Facility("49002", "Bệnh viện Đa khoa Quảng Nam"),
                 fhir_out.Facility("49003", "Bệnh viện Sản - Nhi Quảng Nam")],
            0: [fhir_out.Facility("48001", "Bệnh viện Đà Nẵng")],
        }
    name = province.short_name
    return {0: [fhir_out.Facility(f"{province.code:02d}001", f"Bệnh viện Đa khoa {name}"),
                fhir_out.Facility(f"{province.code:02d}002", f"Bệnh viện Sản - Nhi {name}")]}


# ---- worker-process state ---------------------------------------------------------------
_STATE: tuple[GeneratorConfig, SynthProvince, int] | None = None


def _init_worker(cfg: GeneratorConfig, n_chunks: int) -> None:
    global _STATE
    _STATE = (cfg, load_province(cfg.province_code), n_chunks)


def _run_chunk(spec: ChunkSpec) -> ChunkResult:
    assert _STATE is not None
    cfg, province, n_chunks = _STATE
    return _Chunk(cfg, province, spec, n_chunks).run()


def generate_chunk(cfg: GeneratorConfig, province: SynthProvince, spec: ChunkSpec, n_chunks: int) -> ChunkResult:
    """Generate one chunk in this process."""
    return _Chunk(cfg, province, spec, n_chunks).run()


def school_rows(province: SynthProvince, specs: list[ChunkSpec], seed: int) -> list[list[object]]:
    """Return the schools: a primary school per populated ward, lower-secondary shared by small communes."""
    population = Counter()
    for s in specs:
        population[s.ward_index] += s.people
    populated = [i for i in range(len(province.wards)) if population[i] > 0]
    rng = random.Random(f"chudong-synth-schools:{seed}")
    rows: list[list[object]] = []
    n = 0

    def school_name(level: str, ward: SynthWard) -> str:
        namesake = rng.choice(SCHOOL_NAMESAKES) if ward.kind == "phường" else ward.name.split(" ", 1)[1]
        return ("Trường Tiểu học " if level == "primary" else "Trường THCS ") + namesake

    for i in populated:
        w = province.wards[i]
        n += 1
        rows.append([f"TH{n:05d}", f"TH{w.code:05d}", school_name("primary", w), "primary", w.code, str(w.code)])
    mean = sum(population.values()) / max(len(populated), 1)
    pending: list[int] = []
    for i in populated:
        w = province.wards[i]
        small = w.kind != "phường" and population[i] < 0.6 * mean
        if small and not pending:
            pending.append(i)
            continue
        group = pending + [i]
        pending = []
        n += 1
        rows.append([f"TH{n:05d}", f"THCS{w.code:05d}", school_name("lower_secondary", w), "lower_secondary", w.code,
                     ";".join(str(province.wards[j].code) for j in group)])
    if pending:
        w = province.wards[pending[0]]
        n += 1
        rows.append([f"TH{n:05d}", f"THCS{w.code:05d}", school_name("lower_secondary", w), "lower_secondary", w.code,
                     str(w.code)])
    return rows


@dataclass
class Manifest:
    """What a run produced."""

    generator_version: int
    seed: int
    as_of: str
    province_code: int
    province_name: str
    people: int
    chunks: int
    counts: dict[str, int]
    stats: dict[str, int]
    noise: dict[str, float | str]


def iter_chunk_results(cfg: GeneratorConfig, specs: list[ChunkSpec], workers: int) -> Iterator[ChunkResult]:
    """Yield chunk results in chunk order, computed in ``workers`` processes (1 = here)."""
    if workers <= 1 or len(specs) <= 1:
        province = load_province(cfg.province_code)
        for spec in specs:
            yield generate_chunk(cfg, province, spec, len(specs))
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(cfg, len(specs))) as pool:
        # imap keeps order; results are consumed (written) as they arrive, so only a few
        # chunks are ever in memory.
        yield from pool.imap(_run_chunk, specs, chunksize=1)


def generate(cfg: GeneratorConfig, out_dir: Path, workers: int = 1,
             on_chunk: Callable[[int], None] | None = None) -> Manifest:
    """Write every feed, the truth file and manifest.json to ``out_dir``; return the manifest."""
    province = load_province(cfg.province_code)
    specs = plan_chunks(province, cfg.people, cfg.chunk_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: Counter = Counter()
    stats: Counter = Counter()
    handles = {name: (out_dir / name).open("w", encoding="utf-8", newline="") for name in ALL_FILES}
    try:
        for name, header in HEADERS.items():
            csv.writer(handles[name], lineterminator="\n").writerow(header)
        schools = school_rows(province, specs, cfg.seed)
        csv.writer(handles["schools.csv"], lineterminator="\n").writerows(schools)
        counts["schools.csv"] = len(schools)
        for result in iter_chunk_results(cfg, specs, workers):
            for name, text in result.texts.items():
                handles[name].write(text)
            counts.update(result.counts)
            stats.update(result.stats)
            if on_chunk is not None:
                on_chunk(specs[result.chunk_id].people)
    finally:
        for h in handles.values():
            h.close()
    manifest = Manifest(
        generator_version=GENERATOR_VERSION, seed=cfg.seed, as_of=cfg.as_of.isoformat(),
        province_code=province.code, province_name=province.name, people=cfg.people, chunks=len(specs),
        counts={name: counts.get(name, 0) for name in ALL_FILES}, stats=dict(sorted(stats.items())),
        noise={**asdict(cfg.noise), "profile": cfg.profile},
    )
    (out_dir / "manifest.json").write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=2) + "\n",
                                           encoding="utf-8")
    return manifest
