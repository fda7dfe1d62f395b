"""Index inputs from dossiers, checked against hand-computed counts."""

import datetime as dt

import pytest

from chudong.analytics.service import Period, Scope, compute_index, explain, index_inputs
from chudong.kit.errors import Unprocessable

from . import builders as b

OCT = Period.parse("2026-10")
D = dt.date


@pytest.fixture
def october(session, clock):
    # 1 settled early, 1 settled on time, 1 settled late, 1 in progress within deadline, 1 overdue
    early = b.dossier(session, settled_on=D(2026, 10, 6), settlement_class="early", status="closed")
    on_time = b.dossier(session, settled_on=D(2026, 10, 8), settlement_class="on_time", status="closed")
    late = b.dossier(session, settled_on=D(2026, 10, 20), settlement_class="late", status="closed", prefill_share=0.5)
    b.dossier(session, received_on=D(2026, 10, 28), due_on=D(2026, 11, 3), status="in_processing")
    b.dossier(session, received_on=D(2026, 10, 1), due_on=D(2026, 10, 6), status="in_processing",
              unit=None, confirmed_by="officer:desk")
    # settled before October: not of the period
    b.dossier(session, received_on=D(2026, 9, 1), settled_on=D(2026, 9, 3), settlement_class="on_time", status="closed")
    b.result(session, early)
    b.result(session, on_time)
    b.rating(session, early, 5)
    b.rating(session, on_time, 2)  # unsatisfied
    session.flush()
    return {"early": early, "on_time": on_time, "late": late}


def test_progress_counts_settled_in_time_and_in_progress_within_deadline(session, october):
    inputs = index_inputs(session, OCT)
    # of 5 dossiers of October, early + on time + in progress within deadline = 3
    assert (inputs.progress_ok.numerator, inputs.progress_ok.denominator) == (3, 5)


def test_satisfaction_excludes_late_unsatisfied_and_complaints(session, october):
    inputs = index_inputs(session, OCT)
    # 3 settled in October: late one and the one rated 2 count against → 1 / 3
    assert (inputs.dossiers_satisfied.numerator, inputs.dossiers_satisfied.denominator) == (1, 3)


def test_online_and_digitisation_counts(session, october):
    inputs = index_inputs(session, OCT)
    assert (inputs.full_online.numerator, inputs.full_online.denominator) == (4, 5)  # one confirmed at the desk
    assert (inputs.components_digitised.numerator, inputs.components_digitised.denominator) == (4, 5)
    assert (inputs.electronic_results.numerator, inputs.electronic_results.denominator) == (2, 3)


def test_not_applicable_indicators_are_not_scored(session, october):
    r = compute_index(session, OCT)
    assert "paid_online" in r.not_applicable and "e_certified_copies" in r.not_applicable
    sat = {i.key: i for i in r.indicators if i.group == "satisfaction"}
    assert sat["dossier_satisfaction"].weight == 18  # no petitions: points moved
    assert r.total is not None and 0 < r.total < 100


def test_progress_points_hand_computed(session, october):
    r = compute_index(session, OCT)
    progress = next(i for i in r.indicators if i.key == "progress")
    assert progress.points == pytest.approx(20 * 3 / 5)


def test_unit_without_dossiers_has_no_fake_score(session, october):
    r = compute_index(session, OCT, Scope(unit_code="NO-SUCH-UNIT"))
    progress = next(i for i in r.indicators if i.key == "progress")
    assert not progress.applicable


def test_period_with_no_data(session, clock):
    r = compute_index(session, Period.parse("2030-01"))
    assert next(i for i in r.indicators if i.key == "progress").points is None


def test_drill_down_lists_dossiers_against_progress(session, october):
    out = explain(session, "progress", OCT)
    assert out["total"] == 5 and out["counted_against"] == 2
    assert october["late"].code in {d["code"] for d in out["dossiers"]}
    with pytest.raises(Unprocessable):
        explain(session, "nonsense", OCT)


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2026-10", D(2026, 10, 1), D(2026, 10, 31)), ("2026-Q4", D(2026, 10, 1), D(2026, 12, 31)),
    ("2026", D(2026, 1, 1), D(2026, 12, 31)), ("2026-02", D(2026, 2, 1), D(2026, 2, 28)),
    ("2026-01-15..2026-02-14", D(2026, 1, 15), D(2026, 2, 14))])
def test_period_parse(text, start, end):
    p = Period.parse(text)
    assert (p.start, p.end) == (start, end)


@pytest.mark.parametrize("bad", ["2026-13", "2026-Q5", "soon", "2026-02-10..2026-01-01"])
def test_period_parse_rejects(bad):
    with pytest.raises(Unprocessable):
        Period.parse(bad)
