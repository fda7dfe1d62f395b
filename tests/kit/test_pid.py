import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chudong.kit.pid import (
    InvalidPid,
    pid_century_sex_digit,
    pid_province_code,
    province_codes,
    validate_pid,
)


def test_valid_pid_with_birth_date_and_sex():
    assert validate_pid("049195001234", dt.date(1995, 3, 4), "F") == "049195001234"
    assert validate_pid("048090123456", dt.date(1990, 1, 1), "M") == "048090123456"
    assert validate_pid("001206000001", dt.date(2006, 5, 1), "M") == "001206000001"


def test_spaces_and_dots_are_removed():
    assert validate_pid(" 049 195 001.234 ", dt.date(1995, 3, 4), "F") == "049195001234"


@pytest.mark.parametrize("pid", ["04919500123", "0491950012345", "04919500123a", "", "０４９１９５００１２３４"])
def test_length_and_digits(pid):
    with pytest.raises(InvalidPid, match="12 digits"):
        validate_pid(pid, None, None)


@pytest.mark.parametrize("prefix", ["000", "003", "050", "065", "097", "099", "100"])
def test_province_code_must_exist(prefix):
    with pytest.raises(InvalidPid, match="not a province code"):
        validate_pid(prefix + "195001234", None, None)


def test_province_codes_cover_old_63_and_current_34():
    codes = province_codes()
    assert len(codes) == 63
    assert {1, 48, 49, 79, 96} <= codes  # Hà Nội, Đà Nẵng, Quảng Nam (pre-2025), HCMC, Cà Mau
    assert 3 not in codes and 50 not in codes


@pytest.mark.parametrize("digit", ["6", "7", "8", "9"])
def test_century_digit_beyond_2100s_rejected(digit):
    with pytest.raises(InvalidPid, match="no possible century"):
        validate_pid(f"049{digit}95001234", None, None)


def test_century_must_match_birth_year():
    # 2 = male born in the 2000s, but born 1995
    with pytest.raises(InvalidPid, match="2000s"):
        validate_pid("049295001234", dt.date(1995, 3, 4), "M")


def test_year_digits_must_match_birth_year():
    with pytest.raises(InvalidPid, match="digits 5-6"):
        validate_pid("049196001234", dt.date(1995, 3, 4), "F")


def test_sex_digit_must_match_sex():
    with pytest.raises(InvalidPid, match="female"):
        validate_pid("049195001234", dt.date(1995, 3, 4), "M")
    with pytest.raises(InvalidPid, match="male"):
        validate_pid("049095001234", dt.date(1995, 3, 4), "F")


def test_unknown_sex_and_birth_date_skip_those_checks():
    assert validate_pid("049195001234", None, None) == "049195001234"
    assert validate_pid("049195001234", None, "O") == "049195001234"


def test_century_sex_digit_table():
    assert pid_century_sex_digit(1999, "M") == "0"
    assert pid_century_sex_digit(1900, "F") == "1"
    assert pid_century_sex_digit(2000, "M") == "2"
    assert pid_century_sex_digit(2099, "F") == "3"
    assert pid_century_sex_digit(2100, "M") == "4"
    assert pid_century_sex_digit(2150, "F") == "5"
    with pytest.raises(InvalidPid):
        pid_century_sex_digit(1899, "M")
    with pytest.raises(InvalidPid):
        pid_century_sex_digit(1990, "X")


def test_province_code_of_pid():
    assert pid_province_code("049195001234") == 49
    with pytest.raises(InvalidPid):
        pid_province_code("49195001234")


@given(
    province=st.sampled_from(sorted(province_codes())),
    birth=st.dates(dt.date(1900, 1, 1), dt.date(2199, 12, 31)),
    sex=st.sampled_from(["M", "F"]),
    tail=st.integers(0, 999_999),
)
def test_constructed_pids_validate(province, birth, sex, tail):
    pid = f"{province:03d}{pid_century_sex_digit(birth.year, sex)}{birth.year % 100:02d}{tail:06d}"
    assert validate_pid(pid, birth, sex) == pid
    assert pid_province_code(pid) == province


@given(st.text(max_size=20), st.one_of(st.none(), st.dates()), st.sampled_from([None, "M", "F", "O"]))
def test_any_text_is_valid_or_invalidpid(text, birth, sex):
    try:
        out = validate_pid(text, birth, sex)
    except InvalidPid:
        return
    assert len(out) == 12 and out.isdigit()
