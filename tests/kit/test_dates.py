import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, strategies as st

from chudong.kit.dates import InvalidDate, date_agreement, is_placeholder, parse_date, parse_dates, swapped


@pytest.mark.parametrize("text", ["02/04/1975", "2/4/1975", "02-04-1975", "02.04.1975", "1975-04-02",
                                  "1975-04-02T00:00:00", "19750402", " 02/04/1975 "])
def test_forms_agencies_send_are_read_day_first(text):
    assert parse_date(text) == dt.date(1975, 4, 2)


def test_objects_and_empty_values():
    assert parse_date(dt.datetime(1975, 4, 2, 8, 30)) == dt.date(1975, 4, 2)
    assert parse_date(dt.date(1975, 4, 2)) == dt.date(1975, 4, 2)
    assert parse_date("") is None and parse_date(None) is None and parse_date(float("nan")) is None


@pytest.mark.parametrize(("text", "why"), [("31/02/1990", "does not exist"), ("1990/13", "dd/mm/yyyy"),
                                           ("hôm qua", "dd/mm/yyyy")])
def test_bad_dates_say_why(text, why):
    with pytest.raises(InvalidDate, match=why):
        parse_date(text)


def test_vectorised_parse_matches_the_scalar_one():
    values = pd.Series(["02/04/1975", "1975-04-02", "2/4/1975", None, "rác", "31/02/1990", "19750402"])
    out = parse_dates(values)
    assert list(out.dt.date.where(out.notna(), None)) == [dt.date(1975, 4, 2)] * 3 + [None, None, None,
                                                                                      dt.date(1975, 4, 2)]


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_both_written_forms_round_trip(day):
    assert parse_date(day.strftime("%d/%m/%Y")) == parse_date(day.isoformat()) == day


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_swap_is_an_involution_and_only_for_small_days(day):
    other = swapped(day)
    if day.day > 12 or day.day == day.month:
        assert other is None
    else:
        assert other != day and swapped(other) == day and date_agreement(other, day) == "swapped"


def test_agreement_levels():
    born = dt.date(1952, 7, 19)
    assert date_agreement(born, born) == "exact"
    assert date_agreement(dt.date(1952, 1, 1), born) == "placeholder"  # year only, before 1960
    assert date_agreement(dt.date(1982, 1, 1), dt.date(1982, 7, 19)) == "same_year"  # a real 1 January
    assert date_agreement(born, dt.date(1953, 7, 19)) == "different"
    assert date_agreement(None, born) == "unknown"
    assert is_placeholder(dt.date(1959, 1, 1)) and not is_placeholder(dt.date(1960, 1, 1))
