"""Vietnamese labels of dossier fields for documents (unknown fields show their name)."""

from __future__ import annotations

LABELS_VI = {
    "birth_weight_g": "Cân nặng khi sinh (gam)",
    "birth_facility": "Cơ sở khám bệnh, chữa bệnh nơi sinh",
    "mother_ward": "Nơi cư trú của người mẹ",
    "household": "Hộ gia đình",
    "father_pid": "Số định danh cá nhân của người cha",
    "parent_contact": "Số điện thoại liên hệ của cha, mẹ",
    "residence_ward": "Nơi cư trú",
    "expected_school": "Trường dự kiến",
    "current_card_issued_on": "Ngày cấp thẻ hiện tại",
    "floor_area_m2": "Diện tích sàn (m²)",
    "design_drawings": "Bản vẽ thiết kế",
    "declarant": "Người khai",
    "photo_and_fingerprints": "Ảnh chân dung và vân tay",
    "child_name": "Họ, chữ đệm và tên",
    "child_full_name": "Họ, chữ đệm và tên",
    "full_name": "Họ, chữ đệm và tên",
    "birth_date": "Ngày, tháng, năm sinh",
    "child_birth_date": "Ngày, tháng, năm sinh",
    "sex": "Giới tính",
    "child_sex": "Giới tính",
    "birth_place": "Nơi sinh",
    "facility": "Nơi sinh",
    "weight_g": "Cân nặng (gam)",
    "mother_name": "Họ, chữ đệm và tên người mẹ",
    "mother_full_name": "Họ, chữ đệm và tên người mẹ",
    "mother_pid": "Số định danh cá nhân của người mẹ",
    "father_name": "Họ, chữ đệm và tên người cha",
    "pid": "Số định danh cá nhân",
    "death_date": "Ngày chết",
    "cause": "Nguyên nhân",
    "ward_code": "Nơi cư trú (mã xã/phường)",
    "licence_number": "Số giấy phép",
    "licence_class": "Hạng",
    "expires_on": "Ngày hết hạn",
    "income_per_person": "Thu nhập bình quân (đồng/người/tháng)",
    "parcel": "Thửa đất",
    "household_code": "Mã hộ",
}


def field_label(name: str) -> str:
    """Return the Vietnamese label of a field."""
    return LABELS_VI.get(name, name.replace("_", " "))
