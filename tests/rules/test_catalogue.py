"""The catalogue as data: the twelve services load, parameters are dated, errors name file/key/problem."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from chudong.kit.errors import NotFound
from chudong.rules.catalogue import (
    BUILTIN_DIR, CatalogueError, ParameterMissing, clear_cache, get_catalogue, load_catalogue,
)
from chudong.rules.dates import add_years, age_on, dates_reaching

TWELVE = {
    "birth-registration", "death-registration", "school-admission", "id-card-reissue", "driving-licence-renewal",
    "passport-expiry", "medical-licence-renewal", "tour-guide-card-renewal", "veterinary-cert-renewal",
    "transport-licence-renewal", "poor-household-confirmation", "house-building-bundle",
}


def test_the_twelve_services_load_with_legal_facts():
    cat = load_catalogue(BUILTIN_DIR)
    assert set(cat.services) == TWELVE | {"people-id-card-replacement"}  # + the CMND rule (Law 26/2023 art. 46)
    birth = cat.service("birth-registration")
    assert birth.lead_agency == "justice"
    assert birth.settlement.working_days == 3
    assert birth.supplement_window_working_days == 7
    assert birth.registration_deadline and birth.registration_deadline.calendar_days == 60
    assert {lp.agency for lp in birth.linked} == {"police", "social_insurance"}
    death = cat.service("death-registration")
    assert death.registration_deadline and death.registration_deadline.calendar_days == 15
    assert {lp.service_id for lp in death.linked} == {"residence-removal", "funeral-allowance"}
    house = cat.service("house-building-bundle")
    assert [lp.agency for lp in house.linked] == ["construction", "electricity", "water"]
    assert cat.service("veterinary-cert-renewal").settlement.working_days == 3
    assert cat.service("tour-guide-card-renewal").notice_lead_days == [90, 30, 7]
    for svc in cat.services.values():
        assert svc.legal_basis, svc.id
        assert "offered" in svc.templates and "reminder" in svc.templates
        if svc.kind == "dossier":
            assert {"approved", "rejected", "result_issued", "supplement_requested"} <= set(svc.templates)


def test_unknown_service_is_not_found():
    with pytest.raises(NotFound):
        load_catalogue(BUILTIN_DIR).service("nope")


def test_poverty_line_period_switches_on_1_january():
    cat = load_catalogue(BUILTIN_DIR)
    end_2025 = cat.parameter("poverty.income_line.rural", dt.date(2025, 12, 31))
    start_2026 = cat.parameter("poverty.income_line.rural", dt.date(2026, 1, 1))
    start_2027 = cat.parameter("poverty.income_line.urban", dt.date(2027, 1, 1))
    assert end_2025.value == 1_500_000 and end_2025.reference.startswith("Decree 07/2021")
    assert start_2026.value == 1_500_000 and start_2026.status == "unverified" and "verify" in start_2026.reference
    assert start_2027.value == 2_800_000 and start_2027.status == "draft"
    with pytest.raises(ParameterMissing, match="no value on 2021-12-31"):
        cat.parameter("poverty.income_line.rural", dt.date(2021, 12, 31))


def test_id_card_milestones_follow_the_law_in_force():
    cat = load_catalogue(BUILTIN_DIR)
    assert cat.parameter("id_card.milestone_ages", dt.date(2024, 6, 30)).value == [25, 40, 60]
    assert cat.parameter("id_card.milestone_ages", dt.date(2024, 7, 1)).value == [14, 25, 40, 60]


def test_templates_render_both_languages():
    cat = load_catalogue(BUILTIN_DIR)
    text = cat.render("expiry.offered", "en", {"full_name": "An", "document": "tour guide card", "number": "X1",
                                                "due_date": "2026-12-02", "service_name": "renewal"})
    assert "tour guide card no. X1 expires on 2026-12-02" in text
    assert "{days_left}" in cat.render("expiry.reminder", "vi", {})


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "cat"
    shutil.copytree(BUILTIN_DIR, folder)
    return folder


def _problem(folder: Path) -> CatalogueError:
    with pytest.raises(CatalogueError) as err:
        load_catalogue(folder)
    return err.value


def test_unknown_registry_field_names_file_key_and_field(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "passport-expiry.yaml"
    path.write_text(path.read_text().replace("source: person.birth_date", "source: person.birthday"))
    err = _problem(folder)
    assert len(err.problems) == 1
    file, key, problem = err.problems[0]
    assert file.endswith("passport-expiry.yaml") and key == "data_items[2].source"
    assert "unknown registry field 'person.birthday'" in problem
    assert "passport-expiry.yaml: data_items[2].source: unknown registry field" in err.message


def test_overlapping_parameter_periods_are_refused(tmp_path):
    folder = _copy(tmp_path)
    (folder / "parameters" / "province.yaml").write_text(
        "parameters:\n  poverty.income_line.rural:\n"
        "    - {value: 1600000, valid_from: 2025-06-01, valid_to: 2025-12-31, reference: 'province decision'}\n"
    )
    err = _problem(folder)
    assert any(f.endswith("province.yaml") and k == "parameters.poverty.income_line.rural[0]" and "overlaps" in p
               for f, k, p in err.problems)
    assert "poverty.income_line.rural" in err.message


def test_missing_template_is_refused(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "birth-registration.yaml"
    path.write_text(path.read_text().replace("  approved: dossier.approved\n", ""))
    tpl = folder / "templates" / "notices.yaml"
    tpl.write_text(tpl.read_text().replace("death.reminder:", "death.reminder_old:"))
    err = _problem(folder)
    keys = {(Path(f).name, k) for f, k, _p in err.problems}
    assert ("birth-registration.yaml", "templates.approved") in keys
    assert ("death-registration.yaml", "templates.reminder") in keys
    assert any("missing template 'death.reminder'" in p for _f, _k, p in err.problems)


def test_unknown_parameter_agency_and_bad_yaml(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "tour-guide-card-renewal.yaml"
    path.write_text(path.read_text().replace("tour_guide_card.validity_years", "tour_guide.validity")
                    .replace("lead_agency: culture_tourism", "lead_agency: tourism"))
    (folder / "broken.yaml").write_text("id: [unclosed\n")
    err = _problem(folder)
    found = {(Path(f).name, k) for f, k, _p in err.problems}
    assert ("tour-guide-card-renewal.yaml", "trigger.validity_years") in found
    assert ("tour-guide-card-renewal.yaml", "lead_agency") in found
    assert any(Path(f).name == "broken.yaml" and "not valid YAML" in p for f, _k, p in err.problems)


def test_province_folder_adds_a_parameter_period(tmp_path, monkeypatch):
    extra = tmp_path / "province"
    (extra / "parameters").mkdir(parents=True)
    (extra / "parameters" / "2031.yaml").write_text(
        "parameters:\n  id_card.grace_years:\n"
        "    - {value: 2, valid_from: 2016-01-01, valid_to: 2030-12-31, reference: 'Law 26/2023/QH15 art. 21(2)'}\n"
    )
    # The built-in period is open-ended, so adding another one overlaps: the error names the province file.
    err = _problem_two(extra)
    assert any("2031.yaml" in f for f, _k, _p in err.problems)
    (extra / "parameters" / "2031.yaml").write_text(
        "parameters:\n  school.admission_window_opens_special:\n"
        "    - {value: '06-15', valid_from: 2027-01-01, reference: 'province plan 2027'}\n"
    )
    monkeypatch.setenv("CHUDONG_CATALOGUE_DIR", str(extra))
    clear_cache()
    try:
        cat = get_catalogue()
        assert cat.parameter("school.admission_window_opens_special", dt.date(2027, 3, 1)).value == "06-15"
    finally:
        monkeypatch.delenv("CHUDONG_CATALOGUE_DIR")
        clear_cache()


def _problem_two(extra: Path) -> CatalogueError:
    with pytest.raises(CatalogueError) as err:
        load_catalogue(BUILTIN_DIR, extra)
    return err.value


@pytest.mark.parametrize(
    ("start", "years", "expected"),
    [
        (dt.date(2012, 2, 29), 14, dt.date(2026, 2, 28)),
        (dt.date(2012, 2, 29), 16, dt.date(2028, 2, 29)),
        (dt.date(2000, 1, 1), 25, dt.date(2025, 1, 1)),
        (dt.date(1986, 12, 31), 40, dt.date(2026, 12, 31)),
    ],
)
def test_anniversaries(start, years, expected):
    assert add_years(start, years) == expected
    assert start in dates_reaching(expected, years)


def test_leap_day_reaches_28_february_and_age_counts_it():
    assert dates_reaching(dt.date(2026, 2, 28), 14) == [dt.date(2012, 2, 28), dt.date(2012, 2, 29)]
    assert dates_reaching(dt.date(2026, 3, 1), 14) == [dt.date(2012, 3, 1)]
    assert age_on(dt.date(2012, 2, 29), dt.date(2026, 2, 27)) == 13
    assert age_on(dt.date(2012, 2, 29), dt.date(2026, 2, 28)) == 14
