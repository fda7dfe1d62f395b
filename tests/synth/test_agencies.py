"""The agencies noise profile: each source system's damage, and the traps with their ground truth."""

import datetime as dt
import random
import unicodedata

import numpy as np
import pytest

from chudong.kit.names import is_placeholder_name, linkage_key, repair_name
from chudong.kit.phones import normalise_phone
from chudong.kit.pid import read_identifier
from chudong.synth.agencies import SYSTEMS, Facts, render_birth, render_name, render_phone, render_pid

FACTS = Facts(family="Đặng", middle="Văn", given="Hùng", birth=dt.date(1955, 3, 7), sex="M", pid="048055001234",
              old_id="201234567", phone="+84385123456", ward=20194)
BY_NAME = {s.name: s for s in SYSTEMS}


def test_system_shares_add_up():
    assert sum(s.share for s in SYSTEMS) == pytest.approx(1.0)


@pytest.mark.parametrize(("system", "check"), [
    ("hospital_ascii", lambda n: n.isascii()),
    ("hospital_web", lambda n: unicodedata.is_normalized("NFD", n) and not unicodedata.is_normalized("NFC", n)),
    ("police", lambda n: n == n.upper()),
    ("passports", lambda n: "<<" in n and n.isascii()),
])
def test_each_system_writes_names_its_way_and_linkage_reads_them(system, check):
    rng = random.Random(1)
    for _ in range(50):
        tags: list[str] = []
        name = render_name(rng, BY_NAME[system], FACTS, tags)
        assert check(name), name
        if not tags or tags == ["mrz"]:
            assert linkage_key(name) == "dang van hung"


def _tags_seen(render, n=4000) -> set[str]:
    rng = random.Random(7)
    seen: set[str] = set()
    for system in SYSTEMS:
        for _ in range(n):
            tags: list[str] = []
            render(rng, system, tags)
            seen.update(tags)
    return seen


def test_every_kind_of_name_damage_is_emitted():
    southern = Facts(**{**FACTS.__dict__, "family": "Huỳnh"})  # Huỳnh / Hoàng
    seen = _tags_seen(lambda rng, s, tags: render_name(rng, s, FACTS if rng.random() < 0.5 else southern, tags))
    assert seen >= {"regional", "typo", "no_middle", "middle_initial", "mrz", "telex", "vni", "given_first", "comma",
                    "eth", "mojibake"}


def test_mojibake_is_what_repair_undoes():
    rng = random.Random(3)
    for _ in range(3000):
        tags: list[str] = []
        name = render_name(rng, BY_NAME["licences_excel"], FACTS, tags)
        if tags == ["mojibake"]:
            assert repair_name(name) == "Đặng Văn Hùng"
            return
    pytest.fail("no mojibake emitted")


def test_old_records_carry_old_ids_and_phones_and_spreadsheets_drop_zeros():
    old, new = dt.date(2015, 5, 1), dt.date(2025, 9, 1)
    seen = _tags_seen(lambda rng, s, tags: (render_pid(rng, s, FACTS, old, tags), render_phone(rng, s, FACTS, old, tags)))
    assert seen >= {"old_cmnd", "old_phone", "excel_zero_id", "excel_zero_phone", "no_id", "mistyped_pid"}
    rng = random.Random(5)
    for _ in range(500):
        tags: list[str] = []
        pid = render_pid(rng, BY_NAME["licences_excel"], FACTS, new, tags)
        phone = render_phone(rng, BY_NAME["licences_excel"], FACTS, new, tags)
        assert "old_cmnd" not in tags and "old_phone" not in tags
        if pid is not None and "mistyped_pid" not in tags:
            assert read_identifier(pid, FACTS.birth, FACTS.sex).pid == FACTS.pid  # valid or restored
        if phone is not None:
            assert normalise_phone(phone) == FACTS.phone


def test_birth_dates_in_the_systems_forms():
    rng = random.Random(2)
    forms = set()
    for system in SYSTEMS:
        for _ in range(300):
            tags: list[str] = []
            text = render_birth(rng, system, FACTS, tags)
            forms.add("iso" if "-" in text else "dmy")
            if "jan_first" in tags:
                assert text in ("1955-01-01", "01/01/1955")
    assert forms == {"iso", "dmy"}


@pytest.fixture(scope="module")
def agencies():
    from bench.linkage import make_people
    from bench.linkage_agencies import build

    return build(np.random.default_rng(11), 4000, 4000, 0.8, make_people)


def test_bench_profile_emits_every_trap_with_ground_truth(agencies):
    persons, records = agencies
    counts = records["trap"].value_counts()
    assert set(counts.index) == {"plain", "outsider", "twin", "namesake", "newborn", "guardian"}
    assert records.loc[records["trap"].isin(["outsider", "namesake"]), "truth"].isna().all()
    assert records.loc[records["trap"].isin(["plain", "twin", "guardian"]), "truth"].notna().all()
    # newborns are recorded without a name of their own
    assert records.loc[records["trap"] == "newborn", "full_name"].map(
        lambda n: is_placeholder_name(n) or n.startswith("CON<BA")).all()
    # a guardian record's ID belongs to another registered person
    guardian = records[records["trap"] == "guardian"]
    owners = persons.set_index("pid")["person_id"]
    pids = guardian["pid"].dropna().map(lambda p: read_identifier(p).value)
    assert pids.map(owners).notna().all() and (pids.map(owners) != guardian.loc[pids.index, "truth"]).all()
    # twins share family name, birth date, ward and phone in the registry
    twin_ids = records.loc[records["trap"] == "twin", "truth"]
    twins = persons[persons["person_id"].isin(twin_ids)]
    assert twins.groupby(["birth_date", "ward_code"]).size().max() >= 2


def test_generate_with_the_agencies_profile(tmp_path):
    import csv
    from collections import Counter

    from chudong.synth.generator import GeneratorConfig, generate

    manifest = generate(GeneratorConfig(people=2500, seed=5, as_of=dt.date(2026, 11, 2), province_code=48,
                                        profile="agencies"), tmp_path, workers=1)
    assert manifest.noise["profile"] == "agencies" and manifest.stats.get("twins", 0) > 0
    with open(tmp_path / "truth.csv", encoding="utf-8") as fh:
        tags = Counter(t for row in csv.DictReader(fh) for t in row["noise"].split(";") if t)
    assert {f"system:{s.name}" for s in SYSTEMS} <= set(tags)
    assert tags["mrz"] > 0 and tags["excel_zero_id"] > 0 and tags["mojibake"] > 0
    # twins: two residents of one household with the same family name and birth date, other given names
    with open(tmp_path / "persons.csv", encoding="utf-8") as fh:
        rows = list({r["source_key"]: r for r in csv.DictReader(fh)}.values())  # without exact duplicates
    pairs = Counter((r["household_code"], r["full_name"].split(" ")[0], r["birth_date"]) for r in rows)
    twins = [k for k, n in pairs.items() if n >= 2]
    assert twins
    for household, family, born in twins:
        names = {r["full_name"] for r in rows if (r["household_code"], r["birth_date"]) == (household, born)}
        assert len(names) >= 2


def test_unknown_profile_is_an_error(tmp_path):
    from chudong.synth.generator import GeneratorConfig, generate

    with pytest.raises(ValueError, match="noise profile"):
        generate(GeneratorConfig(people=10, seed=1, as_of=dt.date(2026, 11, 2), province_code=48, profile="x"),
                 tmp_path, workers=1)
