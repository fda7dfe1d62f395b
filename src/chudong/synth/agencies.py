"""The ``agencies`` noise profile: records as real source systems damage them.

The default profile (``chudong.synth.noise`` with ``NoiseShares``) draws each kind of noise
independently per field. Real agency data is damaged by the *system* that exported it: an
ASCII-only hospital system drops every diacritic, a web application stores NFD, the police
write capitals, the passport office writes the machine-readable zone (``NGUYEN<<VAN<AN``),
spreadsheets drop leading zeros of IDs and phones, an export read as cp1252 turns names into
mojibake, older records carry the old 9-digit CMND, pre-2018 records the 11-digit phone and
pre-July-2025 records the old ward. ``SYSTEMS`` lists those systems with their habits;
``render`` writes one person's facts the way a system would, and returns the tags of the
damage done (the ground truth of ``bench.linkage``'s per-noise breakdown).
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass

from chudong.kit.names import strip_diacritics
from chudong.kit.phones import OLD_MOBILE_PREFIXES
from chudong.synth.noise import mistype_pid, telex, typo

WARD_REFORM = dt.date(2025, 7, 1)
"""Records written before this date carry the ward code of before the 2025 merger."""
PHONE_RENUMBERING = dt.date(2018, 9, 15)
"""Records written before this date carry the 11-digit mobile number."""
CCCD_GENERAL = dt.date(2021, 1, 1)
"""Records written before this date often carry the holder's old CMND number."""

_NEW_TO_OLD_MOBILE = {new: old for old, new in OLD_MOBILE_PREFIXES.items()}
_REGIONAL = {"Hoàng": "Huỳnh", "Huỳnh": "Hoàng", "Vũ": "Võ", "Võ": "Vũ"}
_VNI_MARKS = {"\u0301": "1", "\u0300": "2", "\u0309": "3", "\u0303": "4", "\u0323": "5",
              "\u0302": "6", "\u031b": "7", "\u0306": "8"}


@dataclass(frozen=True)
class System:
    """A source system's habits (shares 0–1 of its records)."""

    name: str
    share: float  # of all agency records
    form: str  # how every name is written: nfc, ascii, nfd, upper, mrz
    date_form: str  # iso or dmy
    first_year: int  # records from this year on
    phone: float = 0.0  # records with a phone column filled
    missing_pid: float = 0.0
    excel_zeros: float = 0.0  # IDs and phones exported through a spreadsheet that drops leading zeros
    mojibake: float = 0.0
    typed: float = 0.0  # Telex / VNI left-overs (input method off)
    typo: float = 0.0
    no_middle: float = 0.0
    middle_initial: float = 0.0
    given_first: float = 0.0
    comma: float = 0.0
    regional: float = 0.0  # the family name's other regional spelling
    eth: float = 0.0  # Ð/ð for Đ/đ
    swapped_date: float = 0.0
    jan_first: float = 0.0  # people born before 1960: only the year known
    mistyped_pid: float = 0.0
    moved: float = 0.0  # the record's ward is an earlier or later address


SYSTEMS: tuple[System, ...] = (
    System(name="hospital_ascii", share=0.22, form="ascii", date_form="dmy", phone=0.75, missing_pid=0.25,
           typed=0.01, typo=0.015, no_middle=0.03, middle_initial=0.01, given_first=0.02, regional=0.02,
           swapped_date=0.03, jan_first=0.10, mistyped_pid=0.02, moved=0.03, first_year=2012),
    System(name="hospital_web", share=0.18, form="nfd", date_form="iso", phone=0.85, missing_pid=0.15, typo=0.01,
           no_middle=0.03, given_first=0.04, regional=0.02, swapped_date=0.01, jan_first=0.05, mistyped_pid=0.01,
           moved=0.03, first_year=2016),
    System(name="police", share=0.15, form="upper", date_form="dmy", phone=0.3, missing_pid=0.02, typo=0.003,
           eth=0.01, swapped_date=0.005, jan_first=0.02, mistyped_pid=0.005, moved=0.01, first_year=2010),
    System(name="licences_excel", share=0.20, form="nfc", date_form="dmy", phone=0.5, missing_pid=0.10,
           excel_zeros=0.35, mojibake=0.05, typo=0.01, no_middle=0.03, middle_initial=0.04, comma=0.03,
           regional=0.02, eth=0.02, swapped_date=0.02, jan_first=0.08, mistyped_pid=0.02, moved=0.05,
           first_year=2010),
    System(name="passports", share=0.07, form="mrz", date_form="iso", phone=0.6, mistyped_pid=0.005, moved=0.05,
           first_year=2012),
    System(name="commune_typed", share=0.18, form="nfc", date_form="dmy", phone=0.6, missing_pid=0.20,
           excel_zeros=0.05, typed=0.06, typo=0.03, no_middle=0.04, middle_initial=0.02, given_first=0.02,
           comma=0.02, regional=0.03, eth=0.03, swapped_date=0.04, jan_first=0.15, mistyped_pid=0.02, moved=0.04,
           first_year=2010),
)


@dataclass
class Facts:
    """One person's true facts, as the registry knows them."""

    family: str
    middle: str
    given: str
    birth: dt.date
    sex: str  # M / F
    pid: str | None
    old_id: str | None
    phone: str | None  # E.164
    ward: int


def pick_system(rng: random.Random) -> System:
    """Return a source system drawn by its share of the records."""
    return rng.choices(SYSTEMS, weights=[s.share for s in SYSTEMS])[0]


def record_date(rng: random.Random, system: System, birth: dt.date, today: dt.date) -> dt.date:
    """Return when the record was written (after the birth, from the system's first year on)."""
    start = max(dt.date(system.first_year, 1, 1), birth)
    return start + dt.timedelta(days=rng.randrange(max((today - start).days, 1)))


def _vni(word: str) -> str:
    out, tail = [], []
    for ch in unicodedata.normalize("NFD", word):
        if ch in _VNI_MARKS:
            tail.append(_VNI_MARKS[ch])
        else:
            out.append("d9" if ch == "đ" else "D9" if ch == "Đ" else ch)
    return "".join(out) + "".join(tail)


def render_name(rng: random.Random, s: System, f: Facts, tags: list[str]) -> str:
    """Return the name the way system ``s`` writes it; append the damage done to ``tags``."""
    family, middle, given = f.family, f.middle, f.given
    if rng.random() < s.regional and family in _REGIONAL:
        family = _REGIONAL[family]
        tags.append("regional")
    if rng.random() < s.typo:
        given = typo(rng, given)
        tags.append("typo")
    r = rng.random()
    if middle and r < s.no_middle:
        middle = ""
        tags.append("no_middle")
    elif middle and r < s.no_middle + s.middle_initial:
        middle = middle[0] + "."
        tags.append("middle_initial")
    words = [w for w in (family, middle, given) if w]
    if s.form == "mrz":
        tags.append("mrz")
        plain = strip_diacritics(" ".join(words)).upper()
        head, _, rest = plain.partition(" ")
        return (head + "<<" + rest.replace(" ", "<") + "<" * 5)[:39]
    if rng.random() < s.typed:
        vni = rng.random() < 0.4
        words = [_vni(w) if vni else telex(w) for w in words]
        tags.append("vni" if vni else "telex")
    if rng.random() < s.given_first:
        words = words[-1:] + words[:-1]
        tags.append("given_first")
        name = " ".join(words)
    elif rng.random() < s.comma:
        name = words[0] + ", " + " ".join(words[1:])
        tags.append("comma")
    else:
        name = " ".join(words)
    if "Đ" in name and rng.random() < s.eth:
        name = name.replace("Đ", "Ð").replace("đ", "ð")
        tags.append("eth")
    if s.form == "ascii":
        name = strip_diacritics(name)
    elif s.form == "nfd":
        name = unicodedata.normalize("NFD", name)
    elif s.form == "upper":
        name = name.upper()
    if rng.random() < s.mojibake and not name.isascii():
        name = name.encode("utf-8").decode("latin-1")
        tags.append("mojibake")
    return name


def render_birth(rng: random.Random, s: System, f: Facts, tags: list[str]) -> str:
    """Return the birth date in the system's form, sometimes swapped or year-only."""
    b = f.birth
    r = rng.random()
    if r < s.swapped_date and b.day <= 12 and b.day != b.month:
        b = dt.date(b.year, b.day, b.month)
        tags.append("swapped_date")
    elif r > 1 - s.jan_first and b.year < 1960 and (b.month, b.day) != (1, 1):
        b = dt.date(b.year, 1, 1)
        tags.append("jan_first")
    return b.isoformat() if s.date_form == "iso" else b.strftime("%d/%m/%Y")


def render_pid(rng: random.Random, s: System, f: Facts, written: dt.date, tags: list[str],
               guardian_pid: str | None = None) -> str | None:
    """Return the identifier the system holds: missing, old CMND, a guardian's, mistyped, zero-dropped or right."""
    if guardian_pid is not None:
        tags.append("guardian_pid")
        return guardian_pid
    if rng.random() < s.missing_pid:
        tags.append("no_id")
        return None
    if f.old_id and written < CCCD_GENERAL and rng.random() < 0.7:
        tags.append("old_cmnd")
        return f.old_id
    if f.pid is None:
        tags.append("no_id")
        return None
    pid = f.pid
    if rng.random() < s.mistyped_pid:
        pid = mistype_pid(rng, pid, serial_only=True)
        tags.append("mistyped_pid")
    if rng.random() < s.excel_zeros:
        pid = pid.lstrip("0")
        tags.append("excel_zero_id")
    return pid


def render_phone(rng: random.Random, s: System, f: Facts, written: dt.date, tags: list[str]) -> str | None:
    """Return the phone in the system's form: 11-digit before 2018, zero dropped by a spreadsheet."""
    if not f.phone or rng.random() >= s.phone:
        return None
    national = "0" + f.phone[3:]
    if written < PHONE_RENUMBERING and national[:3] in _NEW_TO_OLD_MOBILE:
        national = _NEW_TO_OLD_MOBILE[national[:3]] + national[3:]
        tags.append("old_phone")
    if rng.random() < s.excel_zeros:
        tags.append("excel_zero_phone")
        return national[1:]
    return national if rng.random() < 0.7 else "+84" + national[1:]


def mojibake(text: str) -> str:
    """Return ``text`` as a cp1252/latin-1 reader shows its UTF-8 bytes (for tests)."""
    return text.encode("utf-8").decode("latin-1")
