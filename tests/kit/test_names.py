import unicodedata

import pytest

from chudong.kit.names import display_name, family_first, linkage_key, match_key, name_key, strip_diacritics


def test_display_name_nfc_title_case_single_spaces():
    nfd = unicodedata.normalize("NFD", "nguyễn   THỊ  lan ")
    assert display_name(nfd) == "Nguyễn Thị Lan"
    assert unicodedata.is_normalized("NFC", display_name(nfd))


def test_strip_diacritics_handles_d_with_stroke():
    assert strip_diacritics("Đặng Đình Đức") == "Dang Dinh Duc"
    assert strip_diacritics("đường") == "duong"


@pytest.mark.parametrize(
    "raw",
    ["Nguyễn Thị Lan", "NGUYỄN THỊ LAN", "Nguyen Thi Lan", "nguyen  thi lan",
     unicodedata.normalize("NFD", "Nguyễn Thị Lan"), " Nguyễn-Thị Lan "],
)
def test_name_key_same_for_all_forms(raw):
    assert name_key(raw) == "nguyen thi lan"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Nguyeenx Thij Lan", "nguyen thi lan"),  # Telex, tone after the vowels
        ("Nguyeexn Thij Lan", "nguyen thi lan"),  # Telex, tone in the middle
        ("Nguye64n Thi5 Lan", "nguyen thi lan"),  # VNI
        ("Ddawngj Vawn Hoafng", "dang van hoang"),
        ("Trwowng Quoocs Toanf", "truong quoc toan"),
        ("Trần Văn Sơn", "tran van son"),  # real s / tr onsets survive
        ("Đỗ Xuân Trường", "do xuan truong"),
        ("Phạm Thị Như", "pham thi nhu"),
        ("Phamj Thij Nhw", "pham thi nhu"),  # lone w is ư
    ],
)
def test_match_key_removes_typing_leftovers(raw, key):
    assert match_key(raw) == key


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("lan nguyen thi", "nguyen thi lan"),
        ("thi lan nguyen", "nguyen thi lan"),
        ("nguyen thi lan", "nguyen thi lan"),
        ("an nguyen van", "nguyen van an"),
        ("hoang nguyen van", "hoang nguyen van"),  # Hoàng is also a family name: ambiguous, left alone
        ("", ""),
    ],
)
def test_family_first_rotates_to_known_family_name(key, expected):
    assert family_first(key) == expected


def test_linkage_key_combines_everything():
    assert linkage_key("LAN NGUYỄN THỊ") == linkage_key("Nguyeenx Thij Lan") == "nguyen thi lan"
