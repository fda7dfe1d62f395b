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


# --- repairs of the damage sending systems do (issue 16) ---

from hypothesis import given, strategies as st  # noqa: E402

from chudong.kit.names import (  # noqa: E402
    FAMILY_NAMES,
    is_placeholder_name,
    regional_key,
    repair_name,
)

_VIETNAMESE_NAMES = ["Nguyễn Thị Lan", "Đặng Văn Hùng", "Trương Quốc Toàn", "Võ Thị Ngọc Hướng",
                     "Huỳnh Đức Thắng", "Lương Diệu Xoan", "Phạm Thị Như Ý", "Đỗ Xuân Trường"]


@pytest.mark.parametrize("name", _VIETNAMESE_NAMES)
@pytest.mark.parametrize("codec", ["cp1252", "latin-1"])
def test_mojibake_is_repaired(name, codec):
    broken = name.encode("utf-8").decode(codec, errors="ignore" if codec == "cp1252" else "strict")
    assert broken != name
    if codec == "latin-1":  # every byte survives: the repair is exact
        assert repair_name(broken) == name
        assert display_name(broken) == name
    assert linkage_key(broken) == linkage_key(name) or codec == "cp1252"


def test_mojibake_from_the_issue():
    assert display_name("Nguyá»…n Thá»‹ Lan") == "Nguyễn Thị Lan"
    assert linkage_key("TrÆ°Æ¡ng VÄƒn An") == "truong van an"


@given(st.sampled_from(_VIETNAMESE_NAMES), st.sampled_from(["NFC", "NFD"]), st.booleans())
def test_repair_leaves_clean_names_alone(name, form, upper):
    text = unicodedata.normalize(form, name.upper() if upper else name)
    assert repair_name(text) == unicodedata.normalize("NFC", text)


def test_icelandic_eth_is_read_as_d_with_stroke():
    assert display_name("ÐẶNG văn ðức") == "Đặng Văn Đức"
    assert linkage_key("Ðặng Văn Ðức") == linkage_key("Đặng Văn Đức") == "dang van duc"


def test_dj_for_d_with_stroke():
    assert linkage_key("Djang Van Djuc") == "dang van duc"


def test_passport_mrz_form():
    assert display_name("NGUYEN<<VAN<AN") == "Nguyen Van An"
    assert linkage_key("NGUYEN<<THI<MINH<KHAI<<<<<") == "nguyen thi minh khai"


def test_family_name_comma_form():
    assert display_name("Nguyễn, Văn An") == "Nguyễn Văn An"
    assert linkage_key("Nguyễn , Văn An") == "nguyen van an"


@pytest.mark.parametrize(("raw", "key"), [("Tra62n Va8n Nam", "tran van nam"), ("Nguyeenx Vawn Hoaf", "nguyen van hoa")])
def test_telex_and_vni_leftovers(raw, key):
    assert linkage_key(raw) == key


def test_old_and_new_tone_placement_agree():
    assert linkage_key("Nguyễn Thị Hoà") == linkage_key("Nguyễn Thị Hòa")
    assert linkage_key("Lê Thuý") == linkage_key("Lê Thúy")


def test_regional_family_names_unify():
    assert regional_key("huynh van an") == regional_key("hoang van an") == "hoang van an"
    assert regional_key("vo thi lan") == regional_key("vu thi lan")
    assert regional_key("nguyen van vo") == "nguyen van vo"  # only the family name


@pytest.mark.parametrize("name", ["Lâm Hải Đăng", "Mai Văn Đăng", "Hà Thị Trần"])
def test_given_name_that_is_a_family_name_is_not_rotated(name):
    assert linkage_key(name) == match_key(name)


def test_every_surname_may_open_a_name():
    assert FAMILY_NAMES >= {"nguyen", "lam", "mai", "ha"}


@pytest.mark.parametrize("name", ["Con bà Nguyễn Thị Lan", "CON CUA LE THI HOA", "Bé trai", "Sơ sinh",
                                  "Con Ba Tran Thi Mai", "Chưa đặt tên"])
def test_newborn_placeholders(name):
    assert is_placeholder_name(name)


@pytest.mark.parametrize("name", ["Nguyễn Văn Con", "Bế Văn Đàn", "Cồn Thị Lan", "Lê Bé Ba"])
def test_real_names_are_not_placeholders(name):
    assert not is_placeholder_name(name)
