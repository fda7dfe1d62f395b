import datetime as dt

import pytest

from chudong.kit import clock


def test_fixed_clock_sets_today_and_advances():
    fixed = clock.FixedClock(dt.date(2026, 2, 29 - 1))
    with clock.use_clock(fixed):
        assert clock.today() == dt.date(2026, 2, 28)
        fixed.advance(dt.timedelta(days=1))
        assert clock.today() == dt.date(2026, 3, 1)
    assert clock.today() != dt.date(2026, 3, 1) or dt.date.today() == dt.date(2026, 3, 1)


def test_today_is_vietnam_date_not_utc():
    # 20:00 UTC on 1 Nov is 03:00 on 2 Nov in Vietnam
    with clock.use_clock(clock.FixedClock(dt.datetime(2026, 11, 1, 20, 0, tzinfo=dt.UTC))):
        assert clock.today() == dt.date(2026, 11, 2)


def test_process_clock_is_the_fallback():
    original = clock.current_clock()
    try:
        clock.set_process_clock(clock.FixedClock(dt.date(2030, 1, 1)))
        assert clock.today() == dt.date(2030, 1, 1)
        with clock.use_clock(clock.FixedClock(dt.date(2031, 1, 1))):
            assert clock.today() == dt.date(2031, 1, 1)
    finally:
        clock.set_process_clock(original)


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday", "01/11/2026", ""])
def test_parse_as_of_rejects_bad_dates(bad):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        clock.parse_as_of(bad)


def test_parse_as_of_accepts_iso():
    assert clock.parse_as_of(" 2026-10-01 ") == dt.date(2026, 10, 1)
