import datetime as dt

import pytest

from chudong.kit.workdays import CalendarOverride, WorkingCalendar

D = dt.date


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


@pytest.mark.parametrize("day", [D(2026, 2, 16), D(2026, 2, 17), D(2026, 2, 18), D(2026, 2, 19), D(2026, 2, 20)])
def test_tet_2026_days_are_off(cal, day):
    assert not cal.is_working_day(day)


def test_substituted_day_and_working_saturday_2026(cal):
    # 31 Aug 2026 is a day off in exchange for working Saturday 22 Aug 2026
    assert not cal.is_working_day(D(2026, 8, 31))
    assert cal.is_working_day(D(2026, 8, 22))
    assert not cal.is_working_day(D(2026, 8, 29))  # an ordinary Saturday


def test_first_day_not_counted(cal):
    # Monday 2 Nov 2026 + 3 working days ends Thursday 5 Nov
    assert cal.add_working_days(D(2026, 11, 2), 3) == D(2026, 11, 5)


def test_period_across_weekend(cal):
    # Thursday 5 Nov + 3 working days: Fri 6, Mon 9, Tue 10
    assert cal.add_working_days(D(2026, 11, 5), 3) == D(2026, 11, 10)


def test_period_across_tet(cal):
    # Friday 13 Feb 2026 + 3 working days: Tết 16–20 Feb off → Mon 23, Tue 24, Wed 25
    assert cal.add_working_days(D(2026, 2, 13), 3) == D(2026, 2, 25)


def test_working_saturday_counts(cal):
    # Fri 21 Aug + 1 working day = Sat 22 Aug (worked in exchange for 31 Aug)
    assert cal.add_working_days(D(2026, 8, 21), 1) == D(2026, 8, 22)
    # Fri 28 Aug + 1 → Mon 31 Aug off, Tue 1 & Wed 2 Sep National Day → Thu 3 Sep
    assert cal.add_working_days(D(2026, 8, 28), 1) == D(2026, 9, 3)


def test_calendar_day_deadline_on_weekend_moves_to_next_working_day(cal):
    # 60 days from 1 Sep 2026 is Saturday 31 Oct → Monday 2 Nov (art. 148)
    assert D(2026, 9, 1) + dt.timedelta(days=60) == D(2026, 10, 31)
    assert cal.add_calendar_days(D(2026, 9, 1), 60) == D(2026, 11, 2)


def test_calendar_day_deadline_on_working_day_stays(cal):
    assert cal.add_calendar_days(D(2026, 11, 2), 3) == D(2026, 11, 5)


def test_count_working_days_excludes_start(cal):
    assert cal.count_working_days(D(2026, 11, 2), D(2026, 11, 5)) == 3
    assert cal.count_working_days(D(2026, 11, 5), D(2026, 11, 2)) == -3
    assert cal.count_working_days(D(2026, 2, 13), D(2026, 2, 23)) == 1


def test_count_and_add_are_inverse(cal):
    start = D(2026, 1, 1)
    for n in range(1, 40):
        end = cal.add_working_days(start, n)
        assert cal.count_working_days(start, end) == n


def test_zero_days_means_next_working_day(cal):
    assert cal.add_working_days(D(2026, 11, 7), 0) == D(2026, 11, 9)  # Saturday → Monday


def test_negative_days_refused(cal):
    with pytest.raises(ValueError):
        cal.add_working_days(D(2026, 11, 2), -1)


def test_override_day_off_and_working_day():
    cal = WorkingCalendar([
        CalendarOverride(D(2026, 11, 3), "off", "storm"),
        CalendarOverride(D(2026, 11, 7), "working", "make-up day"),
    ])
    assert not cal.is_working_day(D(2026, 11, 3))
    assert cal.is_working_day(D(2026, 11, 7))
    assert cal.add_working_days(D(2026, 11, 2), 2) == D(2026, 11, 5)
