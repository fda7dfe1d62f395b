import datetime as dt
import unicodedata

import pandas as pd
import pytest

from chudong.kit.names import linkage_key
from chudong.linkage.core import link_dataframe, sql_linkage_keys

NAMES = [
    "Nguyễn Thị Lan", "NGUYỄN THỊ LAN", unicodedata.normalize("NFD", "Đặng Đình Đức"), "Nguyeenx Thij Lan",
    "Nguye64n Thi5 Lan", "Ddawngj Vawn Hoafng", "Trwowng Quoocs Toanf", "Lan Nguyễn Thị", "Thị Lan Nguyễn",
    "Trần Văn Sơn", "  Hồ   Xuân-Hương ", "An Nguyễn Văn", "Lý Ksor H'Bơ", "", "Phamj Thij Nhw", "Tr", "Ff Lan",
    "Lâm Hải Đăng", "ÐẶNG Văn ðức", "NGUYEN<<VAN<AN", "Nguyễn, Văn An", "Hải Đăng Lâm", "Djang Van Djuc",
]


def test_sql_keys_equal_python_keys():
    assert sql_linkage_keys(NAMES) == [linkage_key(n) for n in NAMES]


def _person(pid_, name, born, sex="F", ward=20194, phone=None, pid=None):
    return dict(person_id=pid_, full_name=name, birth_date=born, sex=sex, ward_code=ward, phone=phone, pid=pid)


def _record(rid, name, born, sex="F", ward=20194, phone=None, pid=None):
    return dict(record_id=rid, full_name=name, birth_date=born, sex=sex, ward_code=ward, phone=phone, pid=pid)


PERSONS = pd.DataFrame([
    _person(1, "Nguyễn Thị Lan", dt.date(1990, 3, 7), phone="+84905123456", pid="048190001234"),
    _person(2, "Trần Văn Hùng", dt.date(1985, 11, 2), sex="M", ward=20195, pid="048085004321"),
    _person(3, "Phạm Thị Hoa", dt.date(1972, 6, 20), ward=20300),
])


def _decide(*records):
    out = link_dataframe(pd.DataFrame(list(records)), PERSONS)
    return {int(r.record_id): (r.decision, None if pd.isna(r.person_id) else int(r.person_id)) for r in out.itertuples()}


def test_every_record_gets_exactly_one_row():
    out = link_dataframe(pd.DataFrame([_record(i, "X Y", None) for i in range(5)]), PERSONS)
    assert sorted(out["record_id"]) == list(range(5))
    assert set(out["decision"]) == {"none"}


def test_valid_pid_links_with_probability_one():
    out = link_dataframe(pd.DataFrame([_record(9, "Tran Van Hung", dt.date(1985, 11, 2), "M", 20195, pid="048085004321")]), PERSONS)
    assert out.loc[0, "decision"] == "pid" and out.loc[0, "person_id"] == 2 and out.loc[0, "probability"] == 1.0


def test_noisy_name_forms_link_automatically():
    decided = _decide(
        _record(10, "NGUYEN THI LAN", dt.date(1990, 3, 7)),
        _record(11, "Nguyeenx Thij Lan", dt.date(1990, 3, 7)),
        _record(12, "Lan Nguyễn Thị", dt.date(1990, 3, 7)),
    )
    assert decided == {10: ("auto", 1), 11: ("auto", 1), 12: ("auto", 1)}


def test_thresholds_are_validated():
    with pytest.raises(ValueError):
        link_dataframe(pd.DataFrame([_record(1, "A", None)]), PERSONS, auto_threshold=0.5, review_threshold=0.9)


def test_missing_columns_are_reported():
    with pytest.raises(ValueError, match="pid"):
        link_dataframe(pd.DataFrame([{"record_id": 1, "full_name": "A"}]), PERSONS)


def test_sex_written_nam_nu_counts_as_m_f():
    # a name shared by many, so the sex comparison decides between auto and not
    people = pd.DataFrame([_person(i, "Nguyễn Thị Lan", dt.date(1990, 3, 7), ward=20100 + i) for i in range(1, 3)]
                          + [_person(3, "Nguyễn Thị Lan", dt.date(1990, 3, 7), sex="M", ward=20300)])
    out = link_dataframe(pd.DataFrame([
        _record(20, "Nguyễn Thị Lan", dt.date(1990, 3, 7), sex="Nữ", ward=20300),
        _record(21, "Nguyễn Thị Lan", dt.date(1990, 3, 7), sex="F", ward=20300),
        _record(22, "Nguyễn Thị Lan", dt.date(1990, 3, 7), sex="Nam", ward=20300),
    ]), people).set_index("record_id")
    assert out.loc[20, "probability"] == pytest.approx(out.loc[21, "probability"])
    assert out.loc[22, "person_id"] == 3 and out.loc[22, "decision"] == "auto"
    assert out.loc[20, "decision"] != "auto"  # sex disagrees with the same-ward person


def test_two_equally_plausible_people_go_to_review_not_auto():
    twins = pd.DataFrame([
        _person(1, "Lương Diệu Xoan", dt.date(1990, 3, 7), ward=20194),
        _person(2, "Lương Diệu Xoan", dt.date(1990, 3, 7), ward=20195),
    ])
    out = link_dataframe(pd.DataFrame([_record(1, "Luong Dieu Xoan", dt.date(1990, 3, 7), ward=20300)]), twins)
    # each is the holder with probability one half (a little less: maybe neither is)
    assert out.loc[0, "decision"] != "auto"
    assert out.loc[0, "probability"] == pytest.approx(0.5, abs=0.05)


def test_clear_best_candidate_wins_over_a_weak_runner_up():
    people = pd.DataFrame([
        _person(1, "Lương Diệu Xoan", dt.date(1990, 3, 7), phone="+84905000001"),
        _person(2, "Lương Diệu Xoan", dt.date(1990, 1, 1), ward=20195),
    ])
    out = link_dataframe(pd.DataFrame([_record(1, "Luong Dieu Xoan", dt.date(1990, 3, 7), phone="+84905000001")]), people)
    assert (out.loc[0, "decision"], out.loc[0, "person_id"]) == ("auto", 1)


def test_mistyped_id_with_garbled_name_is_found_through_its_digits():
    # one digit of the ID slipped and the name is badly typed: no name/date block finds it
    out = link_dataframe(pd.DataFrame([
        _record(1, "Tren Vn Hng", dt.date(1985, 11, 2), "M", 20195, pid="048085004331"),
    ]), PERSONS)
    assert out.loc[0, "person_id"] == 2 and out.loc[0, "decision"] in ("auto", "review")


def test_rare_name_without_middle_name_links_automatically():
    out = link_dataframe(pd.DataFrame([_record(1, "Phạm Hoa", dt.date(1972, 6, 20), ward=20300)]), PERSONS)
    assert (out.loc[0, "decision"], out.loc[0, "person_id"]) == ("auto", 3)


def test_match_share_is_validated():
    with pytest.raises(ValueError, match="match_share"):
        link_dataframe(pd.DataFrame([_record(1, "A", None)]), PERSONS, match_share=1.0)
