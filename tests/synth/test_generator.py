"""The synthetic province: determinism, formats, valid IDs and wards, noise shares, truth, FHIR."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from vietnam_provinces import _ward_conversion_2025 as conversion

from chudong.kit.names import strip_diacritics
from chudong.synth.generator import (
    ALL_FILES, HEADERS, GeneratorConfig, generate, load_province, plan_chunks,
)
from chudong.synth.wards import all_province_codes

AS_OF = dt.date(2026, 11, 2)
PEOPLE = 6000
FEEDS_DOC = Path(__file__).resolve().parents[2] / "docs" / "feeds.md"


def run(out: Path, seed: int = 7, people: int = PEOPLE, workers: int = 1) -> Path:
    generate(GeneratorConfig(people=people, seed=seed, as_of=AS_OF, province_code=48), out, workers=workers)
    return out


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run(tmp_path_factory.mktemp("synth_a"))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run(tmp_path_factory.mktemp("synth_big"), people=20_000, seed=3)


def rows(out: Path, name: str) -> list[dict[str, str]]:
    with (out / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def bundles(out: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (out / name).read_text(encoding="utf-8").splitlines()]


def test_same_seed_same_files_other_seed_differs(out: Path, tmp_path: Path) -> None:
    again = run(tmp_path / "b")
    for name in ALL_FILES + ("manifest.json",):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    other = run(tmp_path / "c", seed=8)
    assert (out / "persons.csv").read_bytes() != (other / "persons.csv").read_bytes()


def test_worker_processes_do_not_change_output(tmp_path: Path) -> None:
    one = run(tmp_path / "one", people=1500, workers=1)
    two = run(tmp_path / "two", people=1500, workers=2)
    for name in ALL_FILES:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_headers_are_exactly_the_documented_ones(out: Path) -> None:
    doc = FEEDS_DOC.read_text(encoding="utf-8")
    documented = {}
    for m in re.finditer(r"^## (\w+)[^\n]*\n`([^`]+)`", doc, re.M):
        documented[f"{m.group(1)}.csv"] = m.group(2).split(",")
    for name in HEADERS:
        if name == "truth.csv":
            continue
        with (out / name).open(encoding="utf-8") as f:
            assert next(csv.reader(f)) == documented[name], name


def test_manifest_counts_match_files(out: Path) -> None:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 7 and manifest["as_of"] == "2026-11-02" and manifest["province_code"] == 48
    assert manifest["stats"]["persons"] == PEOPLE
    for name in ALL_FILES:
        lines = (out / name).read_text(encoding="utf-8").count("\n")
        header = 1 if name.endswith(".csv") else 0
        assert manifest["counts"][name] == lines - header, name


def test_every_pid_is_structurally_valid_and_unique(out: Path) -> None:
    people = rows(out, "persons.csv")
    provinces = set(all_province_codes())
    pids = [p["pid"] for p in people]
    truth_pids = {t["pid"] for t in rows(out, "truth.csv") if t["file"] == "persons.csv"}
    assert len(truth_pids) == PEOPLE  # unique across all residents (duplicate rows share one)
    for p in people:
        pid, born = p["pid"], dt.date.fromisoformat(p["birth_date"])
        assert len(pid) == 12 and pid.isdigit()
        assert int(pid[:3]) in provinces
        century = {0: 19, 1: 19, 2: 20, 3: 20}[int(pid[3])]
        assert born.year // 100 == century
        assert (int(pid[3]) % 2 == 1) == (p["sex"] == "F")
        assert pid[4:6] == f"{born.year % 100:02d}"
    locals_ = sum(pid[:3] in ("048", "049") for pid in pids) / len(pids)
    assert 0.75 < locals_ < 0.95


def test_ward_codes_exist_as_new_or_mapped_legacy(out: Path) -> None:
    province = load_province(48)
    new = {w.code for w in province.wards}

    def valid(code: str) -> bool:
        c = int(code)
        if c in new:
            return True
        entry = conversion.OLD_TO_NEW.get(c)
        return entry is not None and entry.new_wards[0].code in new

    for name, column in (("persons.csv", "ward_code"), ("licences.csv", "holder_ward_code"),
                         ("utilities.csv", "ward_code"), ("households.csv", "ward_code"),
                         ("pregnancies.csv", "ward_code"), ("schools.csv", "ward_code")):
        for r in rows(out, name):
            assert valid(r[column]), (name, r[column])
    schools = rows(out, "schools.csv")
    covered = {int(c) for s in schools if s["level"] == "primary" for c in s["catchment_wards"].split(";")}
    assert covered == {w.code for w in province.wards if w.weight > 0}
    covered2 = {int(c) for s in schools if s["level"] == "lower_secondary" for c in s["catchment_wards"].split(";")}
    assert covered2 == covered


def test_noise_present_in_expected_shares(out: Path) -> None:
    truth = [t for t in rows(out, "truth.csv") if t["file"] in ("licences.csv", "utilities.csv", "pregnancies.csv")]
    tags = Counter(tag for t in truth for tag in t["noise"].split(";") if tag)
    n = len(truth)
    assert 0.05 < tags["legacy_ward"] / n < 0.11
    assert 0.07 < tags["no_diacritics"] / n < 0.13
    assert 0.02 < tags["nfd"] / n < 0.08
    assert 0.05 < tags["upper"] / n < 0.11
    for tag in ("typo", "given_first", "no_middle", "swapped_date", "missing_pid", "mistyped_pid", "dup", "old_cmnd"):
        assert tags[tag] > 0, tag


def test_mother_id_missing_in_some_births(big: Path) -> None:
    births = [t for t in rows(big, "truth.csv") if t["file"] == "births.ndjson" and t["role"] == "mother"]
    missing = sum("missing_pid" in t["noise"] for t in births) / len(births)
    assert 0.05 < missing < 0.30
    no_id = sum("national_id" not in line for line in (big / "births.ndjson").read_text(encoding="utf-8").splitlines())
    assert no_id == sum("missing_pid" in t["noise"] and "dup" not in t["noise"] for t in births) + sum(
        2 * ("missing_pid" in t["noise"]) for t in births if "dup" in t["noise"])


def test_truth_is_consistent_with_records(out: Path) -> None:
    truth = rows(out, "truth.csv")
    people = {t["person_index"]: t["pid"] for t in truth if t["file"] == "persons.csv"}
    persons = {r["pid"]: r for r in rows(out, "persons.csv")}
    by_key = {(t["file"], t["source_key"], t["role"]): t for t in truth}
    for r in rows(out, "licences.csv"):
        t = by_key[("licences.csv", r["source_key"], "holder")]
        assert people[t["person_index"]] == t["pid"]
        true = persons[t["pid"]]
        tags = set(t["noise"].split(";")) - {""}
        if r["kind"] == "id_card":
            assert r["number"] == r["holder_pid"] == t["pid"]
        if not tags & {"missing_pid", "mistyped_pid", "old_cmnd"}:
            assert r["holder_pid"] == t["pid"]
        if "missing_pid" in tags:
            assert r["holder_pid"] == ""
        if not tags & {"typo", "given_first", "no_middle", "no_diacritics", "nfd", "upper"}:
            assert r["holder_name"] == true["full_name"]
        if "no_diacritics" in tags and "typo" not in tags:
            assert strip_diacritics(r["holder_name"]) == r["holder_name"]
        if "nfd" in tags:
            assert unicodedata.normalize("NFD", r["holder_name"]) == r["holder_name"]
        if not tags & {"swapped_date", "jan_first"}:
            assert r["holder_birth_date"] == true["birth_date"]
        if "swapped_date" in tags:
            a, b = dt.date.fromisoformat(r["holder_birth_date"]), dt.date.fromisoformat(true["birth_date"])
            assert (a.year, a.month, a.day) == (b.year, b.day, b.month)
        if "legacy_ward" not in tags:
            assert r["holder_ward_code"] == true["ward_code"] or "legacy_ward" in by_key[
                ("persons.csv", true["source_key"], "resident")]["noise"]
    # Exact duplicates share their key and content; keys are otherwise unique.
    for name in ("licences.csv", "utilities.csv", "persons.csv"):
        seen: dict[str, tuple] = {}
        for r in rows(out, name):
            key = r["source_key"]
            assert seen.setdefault(key, tuple(r.values())) == tuple(r.values())


def test_population_shape_is_plausible(out: Path) -> None:
    people = rows(out, "persons.csv")
    unique = {p["pid"]: p for p in people}.values()
    ages = [(AS_OF - dt.date.fromisoformat(p["birth_date"])).days / 365.25 for p in unique]
    children = sum(a < 15 for a in ages) / len(ages)
    old = sum(a >= 65 for a in ages) / len(ages)
    assert 0.18 < children < 0.30 and 0.05 < old < 0.14
    households = Counter(p["household_code"] for p in unique)
    assert 3.0 < len(ages) / len(households) < 4.2
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["stats"]
    births_per_1000_year = manifest["births_last_90_days"] * 365 / 90 / PEOPLE * 1000
    assert 8 < births_per_1000_year < 22
    poor = (manifest.get("households_poor", 0) + manifest.get("households_near_poor", 0)) / manifest["households"]
    assert 0.02 < poor < 0.09


def test_licences_follow_validity_rules(out: Path) -> None:
    persons = {r["pid"]: r for r in rows(out, "persons.csv")}
    truth = {(t["source_key"]): t["pid"] for t in rows(out, "truth.csv") if t["file"] == "licences.csv"}
    kinds = Counter()
    for r in rows(out, "licences.csv"):
        kinds[r["kind"]] += 1
        issued = dt.date.fromisoformat(r["issued_on"])
        assert issued <= AS_OF
        born = dt.date.fromisoformat(persons[truth[r["source_key"]]]["birth_date"])
        years = None
        if r["expires_on"]:
            exp = dt.date.fromisoformat(r["expires_on"])
            years = round((exp - issued).days / 365.25)
        if r["kind"] == "driving_licence":
            if r["licence_class"] in ("A1", "A", "B1", "A2", "A3"):  # Law 36/2024 art. 57; Circular 12/2017 art. 17
                assert r["expires_on"] == "" and (r["licence_class"] not in ("A2", "A3") or issued.year < 2025)
            else:
                assert years == (10 if r["licence_class"] in ("B", "C1", "B2") else 5)
        elif r["kind"] == "passport":
            at_issue = (issued - born).days / 365.25
            assert years == (5 if at_issue < 14 else 10)
        elif r["kind"] == "id_card":
            if r["expires_on"]:
                exp = dt.date.fromisoformat(r["expires_on"])
                assert (exp.month, exp.day) == (born.month, born.day) or (born.month, born.day) == (2, 29)
                assert exp.year - born.year in (14, 25, 40, 60)
        else:
            assert years == 5
    assert set(kinds) == {"id_card", "passport", "driving_licence", "medical_licence", "tour_guide_card",
                          "veterinary_cert", "transport_licence"}
    soon = [r for r in rows(out, "licences.csv")
            if r["expires_on"] and AS_OF < dt.date.fromisoformat(r["expires_on"]) <= AS_OF + dt.timedelta(days=365)]
    assert {r["kind"] for r in soon} >= {"id_card", "passport", "driving_licence"}


def _check_bundle(b: dict) -> dict[str, list[dict]]:
    assert b["resourceType"] == "Bundle" and b["type"] == "message"
    entries = b["entry"]
    assert entries[0]["resource"]["resourceType"] == "MessageHeader"
    urls = [e["fullUrl"] for e in entries]
    assert len(set(urls)) == len(urls) and all(u.startswith("urn:uuid:") for u in urls)
    text = json.dumps(b)
    for ref in re.findall(r'"reference": "([^"]+)"', text):
        assert ref in urls
    by_type: dict[str, list[dict]] = {}
    for e in entries:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e["resource"])
    return by_type


def test_birth_bundles_are_well_formed(out: Path) -> None:
    from fhir.resources.R4B.bundle import Bundle

    births = bundles(out, "births.ndjson")
    assert births
    for b in births:
        Bundle.model_validate(b)
        res = _check_bundle(b)
        for child in res["Patient"]:
            assert child["gender"] in ("male", "female")
            assert AS_OF - dt.timedelta(days=90) < dt.date.fromisoformat(child["birthDate"]) <= AS_OF
            assert child["extension"][0]["url"] == "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
        for mother in res["RelatedPerson"]:
            assert mother["relationship"][0]["coding"][0]["code"] == "MTH"
            for ident in mother.get("identifier", []):
                assert ident["system"] == "http://fhir.ehealth.gov.vn/core/sid/national_id"
                assert ident["type"]["coding"][0]["code"] == "NI"
        weights = [o for o in res["Observation"] if o["code"]["coding"][0]["code"] == "8339-4"]
        assert len(weights) == len(res["Patient"])
        assert all(o["valueQuantity"]["code"] == "g" for o in weights)
        assert len(res["Encounter"]) == 1 and len(res["Organization"]) == 1
        if len(res["Patient"]) > 1:
            assert sorted(p["multipleBirthInteger"] for p in res["Patient"]) == [1, 2]


def test_death_bundles_are_well_formed(big: Path) -> None:
    from fhir.resources.R4B.bundle import Bundle

    out = big
    deaths = bundles(out, "deaths.ndjson")
    assert deaths
    for b in deaths:
        Bundle.model_validate(b)
        res = _check_bundle(b)
        (patient,) = res["Patient"]
        assert AS_OF - dt.timedelta(days=31) < dt.date.fromisoformat(patient["deceasedDateTime"][:10]) <= AS_OF
        assert patient["identifier"][0]["system"] == "http://fhir.ehealth.gov.vn/core/sid/national_id"
        assert res["Condition"][0]["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10"


def test_pregnancies_are_expected_in_the_future(out: Path) -> None:
    preg = rows(out, "pregnancies.csv")
    assert preg
    assert all(AS_OF < dt.date.fromisoformat(p["expected_date"]) <= AS_OF + dt.timedelta(days=281) for p in preg)


def test_plan_covers_everyone_once() -> None:
    province = load_province(48)
    specs = plan_chunks(province, 123_457, 5000)
    assert sum(s.people for s in specs) == 123_457
    assert [s.first_index for s in specs] == [sum(x.people for x in specs[:i]) for i in range(len(specs))]
    assert max(s.people for s in specs) <= 5000


def test_unknown_province_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="province code 99"):
        generate(GeneratorConfig(people=10, seed=1, as_of=AS_OF, province_code=99), tmp_path)


def test_every_generated_bundle_parses(big: Path) -> None:
    from chudong.fhir.parser import BirthNotice, DeathNotice, parse_bundle

    out = big
    truth = {(t["file"], t["source_key"], t["role"]): t for t in rows(out, "truth.csv")}
    persons = {r["pid"]: r for r in rows(out, "persons.csv")}
    children = 0
    for line in (out / "births.ndjson").read_text(encoding="utf-8").splitlines():
        key = json.loads(line)["identifier"]["value"]
        notices = parse_bundle(line.encode(), today=AS_OF)
        assert notices and all(isinstance(n, BirthNotice) for n in notices)
        children += len(notices)
        mother = truth[("births.ndjson", key, "mother")]
        tags = set(mother["noise"].split(";"))
        for n in notices:
            if tags.isdisjoint({"missing_pid", "mistyped_pid"}):
                assert n.mother.pid == mother["pid"]
            if "missing_pid" in tags:
                assert n.mother.pid is None
            if "legacy_ward" not in tags:
                assert n.mother.ward_code == int(persons[mother["pid"]]["ward_code"]) or "legacy_ward" in truth[
                    ("persons.csv", persons[mother["pid"]]["source_key"], "resident")]["noise"]
    assert children == sum(1 for k in truth if k[0] == "births.ndjson" and k[2] == "child")
    deaths = (out / "deaths.ndjson").read_text(encoding="utf-8").splitlines()
    assert deaths
    for line in deaths:
        (notice,) = parse_bundle(line.encode(), today=AS_OF)
        assert isinstance(notice, DeathNotice) and notice.cause_icd10


def test_age_pyramid_follows_vietnam_2024(big: Path) -> None:
    from chudong.synth.generator import AGE_PYRAMID_2024

    stats = json.loads((big / "manifest.json").read_text(encoding="utf-8"))["stats"]
    for band, share in enumerate(AGE_PYRAMID_2024):
        got = 100 * stats.get(f"age_band_{band:02d}", 0) / stats["persons"]
        assert abs(got - share) < 2.5, (band * 5, got, share)


def test_cli_generate_uses_as_of_and_reports_counts(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "200", "CHUDONG_DATA_DIR": str(tmp_path)}
    # The installed entry point (``python -m chudong.cli`` would load a second copy of chudong.cli).
    cmd = [str(Path(sys.executable).with_name("chudong")), "--as-of", "2026-03-15", "generate", "--people", "400",
           "--seed", "5", "--out", str(tmp_path / "o"), "--workers", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "persons.csv" in r.stdout and "licences.csv" in r.stdout
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["as_of"] == "2026-03-15" and manifest["seed"] == 5 and manifest["people"] == 400
    bad = subprocess.run([*cmd[:4], "--people", "0", "--out", str(tmp_path / "x")], capture_output=True,
                         text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "--people must be at least 1" in bad.stderr
