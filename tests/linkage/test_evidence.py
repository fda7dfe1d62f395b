import datetime as dt

from chudong.linkage.evidence import compare

PERSON = {"full_name": "Hoàng Văn Tâm", "birth_date": dt.date(1975, 4, 2), "sex": "M", "ward_code": 20194,
          "phone": "+84905123456", "pid": "048075001234", "old_id": None}


def _by_field(record):
    return {e.field: e.agreement for e in compare(record, PERSON)}


def test_namesake_shows_what_disagrees():
    got = _by_field({"full_name": "HOÀNG VĂN TÂM", "birth_date": "02/04/1975", "sex": "M", "ward_code": 20250,
                     "phone": "0912000000", "pid": "079075777888"})
    assert got == {"name": "same", "birth_date": "exact", "sex": "same", "ward_code": "different",
                   "phone": "different", "pid": "different"}


def test_near_values_are_near():
    got = _by_field({"full_name": "Huỳnh Văn Tâm", "birth_date": "1975-02-04", "sex": "M", "ward_code": 20194,
                     "phone": "0905 123 456", "pid": "048075002134"})
    assert got == {"name": "near", "birth_date": "swapped", "sex": "same", "ward_code": "same", "phone": "same",
                   "pid": "near"}


def test_missing_and_placeholder_are_unknown_and_labels_are_vietnamese():
    evidence = compare({"full_name": "Con bà Nguyễn Thị Lan", "birth_date": None, "sex": None, "ward_code": None,
                        "phone": None, "pid": None}, PERSON)
    assert {e.agreement for e in evidence} == {"unknown"}
    assert evidence[0].label_vi == "không đủ dữ liệu"
