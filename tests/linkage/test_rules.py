"""The linkage decision on the traps of real agency data (issue 16): namesakes, twins,
newborns, guardians' IDs, old IDs, and the damaged forms of names, dates and phones."""

import datetime as dt

import pandas as pd
import pytest

from chudong.linkage.core import link_dataframe


def _row(key, i, name, born, sex="F", ward=20194, phone=None, pid=None, **extra):
    return {key: i, "full_name": name, "birth_date": born, "sex": sex, "ward_code": ward, "phone": phone,
            "pid": pid, **extra}


def _link(records, persons):
    out = link_dataframe(pd.DataFrame([_row("record_id", *r[:3], **r[3]) if len(r) > 3 else _row("record_id", *r)
                                       for r in records]),
                         pd.DataFrame([_row("person_id", *p[:3], **p[3]) if len(p) > 3 else _row("person_id", *p)
                                       for p in persons]))
    return {int(r.record_id): (r.decision, None if pd.isna(r.person_id) else int(r.person_id))
            for r in out.itertuples()}


LAN = dt.date(1990, 3, 7)
# a common name with many holders elsewhere, so name + date is ordinary evidence
CROWD = [(100 + i, "Nguyễn Thị Lan", dt.date(1990, 3, 7 + i), {"ward": 20250 + i}) for i in range(1, 10)]


def test_namesake_with_a_different_wellformed_id_is_not_linked():
    persons = [(1, "Nguyễn Thị Lan", LAN, {"pid": "048190001234", "phone": "+84905123456"}), *CROWD]
    got = _link([(1, "Nguyễn Thị Lan", LAN, {"pid": "048190777888", "ward": 20195, "phone": "+84905999999"})], persons)
    assert got[1][0] == "none"


def test_one_typo_in_the_id_is_not_a_different_person():
    persons = [(1, "Nguyễn Thị Lan", LAN, {"pid": "048190001234"}), *CROWD]
    assert _link([(1, "Nguyen Thi Lan", LAN, {"pid": "048190002134"})], persons)[1] == ("auto", 1)


def test_name_and_birth_date_alone_never_autolink_against_other_evidence():
    persons = [(1, "Lương Diệu Xoan", LAN, {"ward": 20194, "phone": "+84905123456"})]
    # rare name, same date, but another ward and another phone: a namesake or a move — a human decides
    got = _link([(1, "Lương Diệu Xoan", LAN, {"ward": 20250, "phone": "+84912000000"})], persons)
    assert got[1][0] != "auto"
    # the same with the phone agreeing: corroborated
    assert _link([(1, "Lương Diệu Xoan", LAN, {"ward": 20250, "phone": "+84905123456"})], persons)[1] == ("auto", 1)


TWINS = [
    (1, "Trần Văn Hùng", dt.date(2015, 5, 9), {"sex": "M", "phone": "+84905111222"}),
    (2, "Trần Văn Dũng", dt.date(2015, 5, 9), {"sex": "M", "phone": "+84905111222"}),
]


def test_each_twin_links_to_himself():
    got = _link([(1, "Tran Van Hung", dt.date(2015, 5, 9), {"sex": "M", "phone": "+84905111222"}),
                 (2, "TRẦN VĂN DŨNG", dt.date(2015, 5, 9), {"sex": "M", "phone": "+84905111222"})], TWINS)
    assert got == {1: ("auto", 1), 2: ("auto", 2)}


def test_twins_with_given_names_equal_without_diacritics_are_not_merged():
    persons = [(1, "Trần Văn Hùng", dt.date(2015, 5, 9), {"sex": "M", "phone": "+84905111222"}),
               (2, "Trần Văn Hưng", dt.date(2015, 5, 9), {"sex": "M", "phone": "+84905111222"})]
    got = _link([(1, "Trần Văn Hưng", dt.date(2015, 5, 9), {"sex": "M", "phone": "+84905111222"})], persons)
    assert got[1] == ("auto", 2)
    # without diacritics the two cannot be told apart: never an automatic link
    got = _link([(1, "Tran Van Hung", dt.date(2015, 5, 9), {"sex": "M", "phone": "+84905111222"})], persons)
    assert got[1][0] != "auto"


def test_newborn_recorded_by_the_mother_is_never_linked_to_her():
    mother = (1, "Nguyễn Thị Lan", LAN, {"pid": "048190001234", "phone": "+84905123456"})
    newborn = (1, "Con bà Nguyễn Thị Lan", dt.date(2026, 10, 1), {"pid": "048190001234", "phone": "+84905123456",
                                                                   "sex": "M"})
    got = _link([newborn], [mother, *CROWD])
    assert got[1][1] != 1 and got[1][0] != "pid"


def test_childs_record_with_a_parents_id_links_to_the_child():
    father = (1, "Phạm Văn Nam", dt.date(1980, 2, 3), {"sex": "M", "pid": "048080123456", "phone": "+84905123456"})
    child = (2, "Phạm Minh Khôi", dt.date(2012, 8, 30), {"sex": "M", "pid": "048212654321", "phone": "+84905123456"})
    got = _link([(1, "Phạm Minh Khôi", dt.date(2012, 8, 30), {"sex": "M", "pid": "048080123456",
                                                             "phone": "+84905123456"})], [father, child])
    assert got[1] == ("auto", 2)


def test_caller_given_classes_are_respected():
    father = (1, "Phạm Văn Nam", dt.date(1980, 2, 3), {"sex": "M", "pid": "048080123456"})
    got = _link([(1, "Phạm Văn Nam", dt.date(1980, 2, 3), {"sex": "M", "pid": "048080123456", "pid_class": "mismatch"})],
                [father])
    assert got[1][0] != "pid"  # a mismatch ID is never an exact link, whatever it equals


def test_old_cmnd_matches_the_registrys_old_id():
    persons = [(1, "Nguyễn Thị Lan", LAN, {"old_id": "201234567", "ward": 20300}), *CROWD]
    got = _link([(1, "Nguyen Thi Lan", LAN, {"pid": "201234567", "ward": 20196})], persons)
    assert got[1] == ("auto", 1)


def test_restored_id_with_dropped_zero_links_exactly():
    persons = [(1, "Nguyễn Thị Lan", LAN, {"pid": "048190001234"})]
    assert _link([(1, "Nguyen Thi Lan", LAN, {"pid": "48190001234"})], persons)[1] == ("pid", 1)


@pytest.mark.parametrize("name", ["Huỳnh Văn Tâm", "Nguyễn V. Tâm", "Nguyá»…n VÄƒn TÃ¢m", "NGUYEN<<VAN<TAM",
                                  "Nguyễn, Văn Tâm", "Ðoàn Văn Tâm"])
def test_damaged_and_variant_names_still_link(name):
    family = "Hoàng" if name.startswith("Huỳnh") else "Đoàn" if name.startswith("Ð") else "Nguyễn"
    persons = [(1, f"{family} Văn Tâm", dt.date(1975, 4, 2), {"sex": "M", "phone": "+84905123456"})]
    got = _link([(1, name, dt.date(1975, 4, 2), {"sex": "M", "phone": "+84905123456"})], persons)
    assert got[1] == ("auto", 1)


@pytest.mark.parametrize("born", ["02/04/1975", "1975-04-02", "2/4/1975", "04/02/1975"])
def test_date_forms_and_swapped_day_month(born):
    persons = [(1, "Lương Diệu Xoan", dt.date(1975, 4, 2), {"phone": "+84905123456"})]
    got = _link([(1, "Lương Diệu Xoan", born, {"phone": "+84905123456"})], persons)
    assert got[1][1] == 1 and got[1][0] in ("auto", "review")


@pytest.mark.parametrize("phone", ["0905123456", "84905123456", "+84 905 123 456", "01685123456"])
def test_phone_forms_and_pre_2018_numbers(phone):
    e164 = "+84385123456" if phone.startswith("0168") else "+84905123456"
    persons = [(1, "Nguyễn Thị Lan", LAN, {"phone": e164, "ward": 20300}), *CROWD]
    got = _link([(1, "Nguyễn Thị Lan", LAN, {"phone": phone, "ward": 20301})], persons)
    assert got[1] == ("auto", 1)


def test_placeholder_dates_of_the_old_are_weak_evidence():
    persons = [(1, "Lương Diệu Xoan", dt.date(1950, 7, 19), {"phone": "+84905123456"})]
    got = _link([(1, "Lương Diệu Xoan", dt.date(1950, 1, 1), {"phone": "+84905123456"})], persons)
    assert got[1][1] == 1
