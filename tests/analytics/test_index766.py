import pytest

from chudong.analytics.index766 import IndexInputs, Ratio, band_for, compute

FULL = Ratio(10, 10)
NONE = Ratio(0, 0)


def inputs(**overrides: Ratio) -> IndexInputs:
    base = {name: FULL for name in IndexInputs.__dataclass_fields__}
    base.update(overrides)
    return IndexInputs(**base)


def test_everything_perfect_is_100():
    r = compute(inputs())
    assert r.total == 100 and r.band == "excellent"
    assert r.groups == {"transparency": 18, "progress": 20, "online_service": 12,
                        "online_payment": 10, "satisfaction": 18, "digitisation": 22}


def test_progress_hand_computed():
    # 93 of 100 dossiers settled early/on time or in progress within deadline → 18.6 of 20
    r = compute(inputs(progress_ok=Ratio(93, 100)))
    progress = next(i for i in r.indicators if i.key == "progress")
    assert progress.points == pytest.approx(18.6)
    assert r.total == pytest.approx(98.6)


def test_no_petitions_moves_points_to_dossier_satisfaction():
    r = compute(inputs(petitions_on_time=NONE, petitions_satisfied=NONE, dossiers_satisfied=Ratio(9, 10)))
    sat = {i.key: i for i in r.indicators if i.group == "satisfaction"}
    assert sat["dossier_satisfaction"].weight == 18
    assert sat["dossier_satisfaction"].points == pytest.approx(16.2)
    assert not sat["petitions_on_time"].applicable
    assert r.groups["satisfaction"] == pytest.approx(16.2)
    assert r.total == pytest.approx(98.2)
    assert r.not_applicable == []  # moved, not left out


def test_not_applicable_rescales_never_fakes_100():
    # no procedure with a fee: online payment not applicable; the rest 90% → total 90, not 100
    half = Ratio(9, 10)
    fields = {n: half for n in IndexInputs.__dataclass_fields__}
    fields["paid_online"] = NONE
    r = compute(IndexInputs(**fields))
    assert r.not_applicable == ["paid_online"]
    assert r.applicable_max == 90
    assert r.total == pytest.approx(90.0)


def test_no_data_at_all_gives_no_score():
    r = compute(IndexInputs(**{n: NONE for n in IndexInputs.__dataclass_fields__}))
    assert r.total is None and r.band is None


@pytest.mark.parametrize(("total", "band"), [(95, "excellent"), (90, "excellent"), (84.2, "good"), (70, "good"), (69.9, "average"), (10, "weak")])
def test_bands(total, band):
    assert band_for(total) == band
