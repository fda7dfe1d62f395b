"""The ``agencies`` profile of ``bench.linkage``: source systems and the traps of real data.

Builds a registry and agency records in which every record comes from one source system
(``chudong.synth.agencies.SYSTEMS``: an ASCII-only hospital system, an NFD web app, the
police's capitals, spreadsheet exports, passports in MRZ, commune clerks typing with the
input method off) and carries that system's damage — plus the traps: twins in the registry,
namesakes (outsiders with a registered person's full name and birth date), newborns recorded
as ``Con bà <mother>`` with the mother's ID, children's records carrying a parent's ID, and
outsiders. Each record's ``source``, ``tags`` (damage done) and ``trap`` are the ground truth
the breakdowns of ``bench.linkage`` are computed from.

Pre-2025 wards are simulated as three old codes per 2025 ward; the ingest maps them to the
2025 code (as ``geo`` does), except the codes of a ward split between two 2025 wards, which
stay unknown.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata

import numpy as np
import pandas as pd

from chudong.kit.names import strip_diacritics
from chudong.synth.agencies import WARD_REFORM, Facts, pick_system, record_date, render_birth, render_name, \
    render_phone, render_pid

TODAY = dt.date(2026, 11, 30)
SHARES = {"twin": 0.01, "namesake": 0.02, "newborn": 0.005, "guardian": 0.01}
"""Share of the agency records of each trap (outsiders: 1 − match share − namesakes − unregistered newborns)."""
MOBILE = ("090", "091", "093", "094", "096", "097", "098", "032", "033", "034", "035", "036", "037", "038",
          "039", "070", "076", "077", "078", "079", "081", "082", "083", "084", "085", "056", "058", "059")
SPLIT_OLD_WARDS = 0.1
"""Share of pre-2025 ward codes split between two 2025 wards (the ingest cannot map them)."""


def _phones(rng: np.random.Generator, n: int) -> list[str]:
    heads = rng.choice(MOBILE, size=n)
    tails = rng.choice(10**7 * 10, size=n, replace=False) % 10**7
    return [f"+84{h[1:]}{t:07d}" for h, t in zip(heads, tails)]


def _pid(rng: random.Random, born: dt.date, sex: str, province: int) -> str:
    digit = (0 if born.year < 2000 else 2) + (sex == "F")
    return f"{province:03d}{digit}{born.year % 100:02d}{rng.randrange(10**6):06d}"


def build(rng: np.random.Generator, n: int, m: int, match_share: float, make_people) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (persons, records) of the agencies profile; records carry truth, source, tags, trap."""
    py = random.Random(int(rng.integers(1 << 31)))
    persons = make_people(rng, n, first_id=1)
    persons["phone"] = pd.Series(_phones(rng, n), dtype=object).where(rng.random(n) >= 0.15, None)
    born = pd.to_datetime(persons["birth_date"])
    has_cmnd = (born.dt.year < 2000).to_numpy() & (rng.random(n) < 0.7)
    persons["old_id"] = [f"{x:09d}" if c else None for x, c in zip(rng.choice(10**9, size=n, replace=False), has_cmnd)]
    people = persons.to_dict("records")
    next_id = n + 1
    used_pids = set(persons["pid"].dropna())

    def new_pid(day: dt.date, sex: str, province: int = 48) -> str:
        while True:
            pid = _pid(py, day, sex, province)
            if pid not in used_pids:
                used_pids.add(pid)
                return pid

    def add_person(fam, mid, giv, day, sex, ward, phone, pid, old_id=None) -> dict:
        nonlocal next_id
        row = {"person_id": next_id, "full_name": f"{fam} {mid} {giv}".replace("  ", " "), "fam": fam, "mid": mid,
               "giv": giv, "birth_date": day, "sex": sex, "ward_code": ward, "phone": phone, "pid": pid,
               "old_id": old_id}
        next_id += 1
        people.append(row)
        return row

    records: list[tuple[dict, str, str | None]] = []  # (facts row, trap, guardian id)
    n_twin, n_names = int(m * SHARES["twin"]), int(m * SHARES["namesake"])
    n_new, n_guard = int(m * SHARES["newborn"]), int(m * SHARES["guardian"])
    idx = rng.permutation(n)
    cursor = 0

    def take(k: int, ok) -> list[dict]:
        nonlocal cursor
        out = []
        while len(out) < k and cursor < n:
            p = people[idx[cursor]]
            cursor += 1
            if ok(p):
                out.append(p)
        return out

    # twins: a registered person gets a registered twin (another given name); records of either
    givens = {"M": persons.loc[persons["sex"] == "M", "giv"].unique(), "F": persons.loc[persons["sex"] == "F", "giv"].unique()}
    for p in take(max(n_twin // 2, 1), lambda p: p["birth_date"].year >= 1960):
        sex = py.choice("MF")
        mid = p["mid"] if sex == p["sex"] else ("Văn" if sex == "M" else "Thị")
        giv = py.choice([g for g in givens[sex] if strip_diacritics(g) != strip_diacritics(p["giv"])])
        twin = add_person(p["fam"], mid, giv, p["birth_date"], sex, p["ward_code"], p["phone"],
                          new_pid(p["birth_date"], sex))
        records += [(p, "twin", None), (twin, "twin", None)]
    # children whose records carry a parent's ID: the child lives with the parent
    parents = take(n_guard, lambda p: 1965 <= p["birth_date"].year <= 1990 and p["pid"] is not None)
    for parent, child in zip(parents, take(n_guard, lambda p: 2008 <= p["birth_date"].year <= 2020)):
        child.update(fam=parent["fam"], full_name=f"{parent['fam']} {child['mid']} {child['giv']}",
                     ward_code=parent["ward_code"], phone=parent["phone"])
        records.append((child, "guardian", parent["pid"]))
    # newborns recorded as "Con bà <mother>" with her ID and phone; half of them registered since
    for mother in take(n_new, lambda p: p["sex"] == "F" and 1986 <= p["birth_date"].year <= 2004 and p["pid"]):
        day = TODAY - dt.timedelta(days=py.randrange(1, 300))
        sex = py.choice("MF")
        baby = {"person_id": None, "fam": mother["fam"], "mid": mother["mid"], "giv": mother["giv"], "birth_date": day,
                "sex": sex, "ward_code": mother["ward_code"], "phone": mother["phone"], "pid": None, "old_id": None}
        if py.random() < 0.5:
            reg = add_person(py.choice(["Nguyễn", "Trần", "Lê", mother["fam"]]), "Văn" if sex == "M" else "Thị",
                             py.choice(list(givens[sex])), day, sex, mother["ward_code"], mother["phone"],
                             new_pid(day, sex))
            baby["person_id"] = reg["person_id"]
        records.append((baby, "newborn", mother["pid"]))
    # namesakes: someone else with a registered person's full name, birth date and sex
    outsiders = make_people(rng, m, first_id=10**9).to_dict("records")
    out_phones = _phones(rng, m)
    o = 0
    for p in take(n_names, lambda p: True):
        q = outsiders[o]
        o += 1
        same_ward = py.random() < 0.3
        q.update(fam=p["fam"], mid=p["mid"], giv=p["giv"], full_name=p["full_name"], birth_date=p["birth_date"],
                 sex=p["sex"], ward_code=p["ward_code"] if same_ward else q["ward_code"],
                 pid=new_pid(p["birth_date"], p["sex"], 79), phone=out_phones[o], old_id=None, person_id=None)
        records.append((q, "namesake", None))
    # plain registered people and plain outsiders fill the rest
    n_matched_traps = sum(1 for _, t, _ in records if t in ("twin", "guardian")) + \
        sum(1 for f, t, _ in records if t == "newborn" and f["person_id"] is not None)
    plain = max(int(m * match_share) - n_matched_traps, 0)
    registry = pd.DataFrame(people)
    for i in rng.choice(n, size=min(plain, n), replace=False):
        records.append((people[i], "plain", None))
    while len(records) < m:
        q = outsiders[o % len(outsiders)]
        o += 1
        q.update(pid=new_pid(q["birth_date"], q["sex"], 79) if py.random() < 0.8 else None,
                 phone=out_phones[o % m], old_id=None, person_id=None)
        records.append((q, "outsider", None))
    py.shuffle(records)
    rows = [_render(py, facts, trap, guardian, i + 1) for i, (facts, trap, guardian) in enumerate(records[:m])]
    out = pd.DataFrame(rows)
    out["truth"] = out["truth"].astype("Int64")
    return registry.drop(columns=["fam", "mid", "giv"]), out


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None  # pandas gives NaN for a missing string


def _old_ward(py: random.Random, ward: int) -> int | None:
    """Return the 2025 ward the ingest reads from the pre-2025 code of ``ward`` (None when split)."""
    old = 30000 + (int(ward) - 20194) * 3 + py.randrange(3)
    return None if (old * 2654435761) % 1000 < SPLIT_OLD_WARDS * 1000 else ward


_NEWBORN_PREFIX = {"nfc": "Con bà ", "ascii": "Con ba ", "upper": "CON BÀ ",
                   "nfd": unicodedata.normalize("NFD", "Con bà "), "mrz": "CON<BA<"}


def _render(py: random.Random, p: dict, trap: str, guardian: str | None, rid: int) -> dict:
    from bench.linkage import WARDS

    system = pick_system(py)
    facts = Facts(family=p["fam"], middle=p["mid"], given=p["giv"], birth=p["birth_date"], sex=p["sex"],
                  pid=_str(p["pid"]), old_id=_str(p.get("old_id")), phone=_str(p["phone"]), ward=int(p["ward_code"]))
    written = record_date(py, system, facts.birth, TODAY)
    tags: list[str] = []
    name = render_name(py, system, facts, tags)
    if trap == "newborn":  # the clerk wrote "child of Mrs <mother's name as the system writes names>"
        name = _NEWBORN_PREFIX[system.form] + name
    pid = render_pid(py, system, facts, written, tags, guardian_pid=guardian)
    ward: int | None = facts.ward
    if py.random() < system.moved:
        ward = int(py.choice(WARDS))
        tags.append("moved")
    if written < WARD_REFORM and ward is not None:
        ward = _old_ward(py, ward)
        tags.append("old_ward" if ward is not None else "old_ward_split")
    return {"record_id": rid, "full_name": name, "birth_date": render_birth(py, system, facts, tags),
            "sex": facts.sex, "ward_code": ward, "phone": render_phone(py, system, facts, written, tags),
            "pid": pid, "truth": p["person_id"], "source": system.name, "tags": " ".join(tags), "trap": trap}
