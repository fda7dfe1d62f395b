"""Vietnamese personal names for the synthetic province, with realistic frequencies.

Family-name shares follow the commonly cited national distribution (Nguyễn ≈ 38%,
Trần ≈ 11%, Lê ≈ 9.5%, Phạm ≈ 7% ...), shifted slightly towards the central-coast
forms (Huỳnh, Võ) that are common in Đà Nẵng and Quảng Nam. Middle names depend on
sex and generation: "Văn" / "Thị" dominate for people born before ~1990 and fade
afterwards. Ethnic-minority names are for the Cơ Tu, Xơ Đăng, Giẻ Triêng and Co
communities of the western (former Quảng Nam) mountain communes.
"""

from __future__ import annotations

import random
from itertools import accumulate

# (family name, relative weight in ‰)
FAMILY_NAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 370), ("Trần", 110), ("Lê", 95), ("Phạm", 65), ("Huỳnh", 40), ("Hoàng", 15),
    ("Phan", 45), ("Võ", 35), ("Vũ", 8), ("Đặng", 21), ("Bùi", 18), ("Đỗ", 14), ("Hồ", 20),
    ("Ngô", 13), ("Dương", 10), ("Lý", 5), ("Trương", 12), ("Đinh", 8), ("Lâm", 4),
    ("Mai", 5), ("Đoàn", 7), ("Cao", 5), ("Lương", 5), ("Thái", 4), ("Hà", 4), ("Tô", 2),
    ("Châu", 3), ("Tạ", 2), ("Văn", 2), ("Đào", 4), ("Lưu", 2), ("Nông", 1), ("Kiều", 1),
    ("Chu", 1), ("Tôn", 2), ("Quách", 1), ("Từ", 1), ("La", 1), ("Khúc", 1), ("Thân", 1),
)

MALE_MIDDLE_OLD: tuple[tuple[str, float], ...] = (
    ("Văn", 60), ("Hữu", 8), ("Đức", 6), ("Minh", 5), ("Công", 5), ("Tấn", 5), ("Ngọc", 4),
    ("Quang", 3), ("Thanh", 3), ("Xuân", 2), ("Đình", 3), ("Bá", 2), ("Phú", 1),
)
MALE_MIDDLE_YOUNG: tuple[tuple[str, float], ...] = (
    ("Văn", 18), ("Minh", 14), ("Quốc", 8), ("Gia", 9), ("Đức", 8), ("Hoàng", 6), ("Anh", 6),
    ("Thành", 5), ("Hữu", 5), ("Tấn", 4), ("Công", 4), ("Nhật", 4), ("Bảo", 5), ("Thanh", 3),
    ("Trọng", 3), ("Đăng", 3), ("Phước", 2),
)
FEMALE_MIDDLE_OLD: tuple[tuple[str, float], ...] = (
    ("Thị", 80), ("Ngọc", 5), ("Thu", 3), ("Thanh", 3), ("Kim", 3), ("Xuân", 2), ("Mỹ", 2),
    ("Hồng", 2),
)
FEMALE_MIDDLE_YOUNG: tuple[tuple[str, float], ...] = (
    ("Thị", 30), ("Ngọc", 10), ("Thu", 5), ("Thanh", 5), ("Minh", 6), ("Bảo", 7), ("Khánh", 6),
    ("Phương", 5), ("Mỹ", 4), ("Kim", 4), ("Gia", 4), ("Hoài", 3), ("Quỳnh", 3), ("Diệu", 2),
    ("Tường", 2), ("Như", 3),
)

MALE_GIVEN: tuple[str, ...] = (
    "Anh", "Bảo", "Bình", "Cường", "Dũng", "Duy", "Dương", "Đạt", "Đức", "Hải", "Hiếu", "Hiệp",
    "Hoàng", "Hòa", "Hùng", "Huy", "Hưng", "Khang", "Khoa", "Khánh", "Kiên", "Lâm", "Long",
    "Lộc", "Lợi", "Minh", "Nam", "Nghĩa", "Nhân", "Phát", "Phong", "Phúc", "Phước", "Quân",
    "Quang", "Sang", "Sơn", "Tài", "Tâm", "Tân", "Thắng", "Thành", "Thịnh", "Thiện", "Tín",
    "Toàn", "Trí", "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Vũ", "Hậu", "Lực", "Thuận",
    "Sĩ", "Tư", "Ba", "Năm", "Khải", "Nguyên", "Đông", "Hạnh", "Tiến", "Quý",
)
FEMALE_GIVEN: tuple[str, ...] = (
    "An", "Anh", "Châu", "Chi", "Diệp", "Dung", "Duyên", "Giang", "Hà", "Hạnh", "Hằng",
    "Hiền", "Hoa", "Hồng", "Hương", "Huyền", "Lan", "Linh", "Loan", "Mai", "My", "Nga",
    "Ngân", "Ngọc", "Nhung", "Nhi", "Oanh", "Phương", "Quyên", "Tâm", "Thảo", "Thu", "Thủy",
    "Trang", "Trâm", "Tuyết", "Uyên", "Vân", "Vy", "Yến", "Hoài", "Lệ", "Liên", "Lý", "Sương",
    "Thơ", "Thúy", "Xuân", "Hòa", "Khuê", "Ly", "Nhàn", "Diễm", "Tiên", "Hậu", "Bích", "Lài",
)

# Ethnic minorities of the western communes (Cơ Tu, Xơ Đăng, Giẻ Triêng, Co): many use
# their own lineage names, others took Kinh family names such as Hồ, Đinh, Trần.
MINORITY_FAMILY: tuple[tuple[str, float], ...] = (
    ("Bhling", 8), ("Alăng", 10), ("Briu", 6), ("Ating", 5), ("Cơlâu", 6), ("Pơloong", 5),
    ("Zơrâm", 4), ("Hồih", 3), ("Clâu", 4), ("Hồ", 20), ("Đinh", 10), ("Trần", 6), ("Nguyễn", 5),
    ("Blup", 3), ("Arất", 3),
)
MINORITY_ETHNICITIES: tuple[tuple[str, float], ...] = (
    ("Cơ Tu", 45), ("Xơ Đăng", 25), ("Giẻ Triêng", 12), ("Co", 12), ("Hoa", 3), ("Tày", 3),
)


class WeightedChoice:
    """Pick from a weighted table quickly and deterministically with a given ``random.Random``."""

    __slots__ = ("values", "cum", "total")

    def __init__(self, table: tuple[tuple[str, float], ...] | tuple[tuple[object, float], ...]) -> None:
        self.values = [v for v, _ in table]
        self.cum = list(accumulate(w for _, w in table))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> object:
        """Return one value drawn by weight."""
        return rng.choices(self.values, cum_weights=self.cum, k=1)[0]


FAMILY = WeightedChoice(FAMILY_NAMES)
MINORITY_FAMILY_CHOICE = WeightedChoice(MINORITY_FAMILY)
ETHNICITY_CHOICE = WeightedChoice(MINORITY_ETHNICITIES)
_MIDDLE = {
    ("M", False): WeightedChoice(MALE_MIDDLE_OLD), ("M", True): WeightedChoice(MALE_MIDDLE_YOUNG),
    ("F", False): WeightedChoice(FEMALE_MIDDLE_OLD), ("F", True): WeightedChoice(FEMALE_MIDDLE_YOUNG),
}


def family_name(rng: random.Random, minority: bool = False) -> str:
    """Return a family name drawn by frequency."""
    return str((MINORITY_FAMILY_CHOICE if minority else FAMILY).pick(rng))


def middle_name(rng: random.Random, sex: str, birth_year: int) -> str:
    """Return a middle name typical for the sex and generation."""
    return str(_MIDDLE[(sex, birth_year >= 1990)].pick(rng))


def given_name(rng: random.Random, sex: str) -> str:
    """Return a given name for the sex."""
    return rng.choice(MALE_GIVEN if sex == "M" else FEMALE_GIVEN)
