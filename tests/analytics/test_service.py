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


# ---------------------------------------------------------------- one pass, per unit


@pytest.fixture
def two_units(session, clock):
    from sqlalchemy import select

    from chudong.dossiers.models import Unit
    from tests.dossiers import builders as db

    db.units(session)
    first, second = session.scalars(select(Unit.code).order_by(Unit.code).limit(2)).all()
    # first unit: 2 dossiers, one settled early with a result, one overdue at the desk
    early = b.dossier(session, unit=first, settled_on=D(2026, 10, 6), settlement_class="early", status="closed")
    b.result(session, early)
    b.dossier(session, unit=first, received_on=D(2026, 10, 1), due_on=D(2026, 10, 6), confirmed_by="officer:desk")
    # second unit: 1 dossier settled late and rated 5, confirmed online
    late = b.dossier(session, unit=second, settled_on=D(2026, 10, 20), settlement_class="late", status="closed")
    b.rating(session, late, 5)
    # no handling unit: in progress within the deadline
    b.dossier(session, received_on=D(2026, 10, 28), due_on=D(2026, 11, 3))
    session.flush()
    return first, second


def _ratio(inputs, name):
    r = getattr(inputs, name)
    return r.numerator, r.denominator


def test_a_second_citizen_confirmation_counts_once(session, october):
    from chudong.dossiers.models import DossierEvent

    d = october["early"]
    session.add(DossierEvent(dossier_id=d.id, seq=9, kind="confirmed", from_status="offered", to_status="confirmed",
                             actor="citizen:1", at=d.opened_at, data={}))
    session.flush()
    # province (index read whole and joined) and service scope (probed per dossier) both count it once
    assert _ratio(index_inputs(session, OCT), "full_online") == (4, 5)
    assert _ratio(index_inputs(session, OCT), "progress_ok") == (3, 5)  # no row doubled by the join
    assert _ratio(index_inputs(session, OCT, Scope(service_id="birth-registration")), "full_online") == (4, 5)


def test_units_sum_to_the_province_in_one_pass(session, two_units):
    from chudong.analytics.service import index_by_unit

    first, second = two_units
    province, units = index_by_unit(session, OCT)
    by_code = {u.unit_code: u.result for u in units}
    assert set(by_code) == {first, second, None}
    assert province == compute_index(session, OCT)
    for code in (first, second):
        assert by_code[code] == compute_index(session, OCT, Scope(unit_code=code))
    progress = {code: next(i.ratio for i in r.indicators if i.key == "progress") for code, r in by_code.items()}
    assert (progress[first].numerator, progress[first].denominator) == (1, 2)  # early; the overdue one is not
    assert (progress[second].numerator, progress[second].denominator) == (0, 1)  # settled late
    assert (progress[None].numerator, progress[None].denominator) == (1, 1)  # in progress within deadline
    online = {code: next(i.ratio for i in r.indicators if i.key == "full_online") for code, r in by_code.items()}
    assert (online[first].numerator, online[first].denominator) == (1, 2)
    assert units[-1].result.total is not None and units[0].result.total >= units[-1].result.total  # best first


def test_units_without_dossiers_in_the_period(session, two_units):
    from chudong.analytics.service import index_by_unit

    province, units = index_by_unit(session, Period.parse("2025-01"))  # before any was received
    assert units == [] and next(i for i in province.indicators if i.key == "progress").points is None


def test_settled_after_the_period_was_in_progress_at_its_end(session, october):
    # received in October, settled in November: at October's end it was in progress —
    # within its deadline for the first, already late for the second
    b.dossier(session, received_on=D(2026, 10, 27), due_on=D(2026, 11, 4), settled_on=D(2026, 11, 3),
              settlement_class="on_time", status="closed")
    b.dossier(session, received_on=D(2026, 10, 2), due_on=D(2026, 10, 9), settled_on=D(2026, 11, 2),
              settlement_class="late", status="closed")
    session.flush()
    assert _ratio(index_inputs(session, OCT), "progress_ok") == (4, 7)
    # neither was settled in October: the satisfaction population is unchanged
    assert _ratio(index_inputs(session, OCT), "dossiers_satisfied") == (1, 3)


@pytest.mark.parametrize(("key", "attr"), [("progress", "progress_ok"), ("dossier_satisfaction", "dossiers_satisfied"),
                                           ("components_digitised", "components_digitised")])
def test_drill_down_is_the_complement_of_the_numerator(session, october, key, attr):
    b.dossier(session, received_on=D(2026, 10, 27), due_on=D(2026, 11, 4), settled_on=D(2026, 11, 3),
              settlement_class="on_time", status="closed", prefill_share=0.25)
    b.rating(session, october["late"], 1, complaint=True)  # late and unhappy: counted against once
    session.flush()
    for scope in (Scope(), Scope(service_id="birth-registration")):
        ratio = getattr(index_inputs(session, OCT, scope), attr)
        out = explain(session, key, OCT, scope)
        assert out["total"] == ratio.denominator
        assert out["total"] - out["counted_against"] == ratio.numerator
        assert len(out["dossiers"]) == out["counted_against"]
