from sqlalchemy import func, select

from chudong.geo.models import LegacyWard, Province, Ward, WardMapping
from chudong.geo.service import load_units, resolve_ward, ward_lookup_table


def test_units_loaded_two_levels(session):
    assert session.scalar(select(func.count()).select_from(Province)) == 34
    assert session.scalar(select(func.count()).select_from(Ward)) == 3321
    danang = session.scalars(select(Ward).where(Ward.province_code == 48)).all()
    assert len(danang) == 94
    kinds = {w.division_type for w in danang}
    assert kinds == {"phường", "xã", "đặc khu"}
    assert sum(w.division_type == "phường" for w in danang) == 23


def test_legacy_quang_nam_wards_map_into_da_nang(session):
    legacy_qn = session.scalar(select(func.count()).select_from(LegacyWard).where(LegacyWard.province_code == 49))
    assert legacy_qn > 200
    # every legacy Quảng Nam ward maps to a ward of the new Đà Nẵng, except Xã Quế Phước
    # (20674), which the official conversion table does not list (merged before 2025)
    unmapped = session.scalar(
        select(func.count()).select_from(LegacyWard)
        .where(LegacyWard.province_code == 49)
        .where(~LegacyWard.code.in_(select(WardMapping.legacy_code)))
    )
    assert unmapped == 1
    targets = session.scalars(
        select(Ward.province_code).join(WardMapping, WardMapping.new_code == Ward.code)
        .join(LegacyWard, LegacyWard.code == WardMapping.legacy_code)
        .where(LegacyWard.province_code == 49).distinct()
    ).all()
    assert targets == [48]


def test_resolve_old_code_to_new_ward(session):
    # Xã Tam Thăng (20362, Tam Kỳ, Quảng Nam) became part of Phường Bàn Thạch (20335)
    res = resolve_ward(session, 20362)
    assert res is not None and res.was_legacy and res.ward_code == 20335
    # a current code resolves to itself
    res = resolve_ward(session, 20335)
    assert res is not None and not res.was_legacy and res.ward_code == 20335
    assert resolve_ward(session, 999999) is None


def test_lookup_table_matches_resolver(session):
    table = ward_lookup_table(session)
    for code in (20362, 20335, 20375):
        res = resolve_ward(session, code)
        assert table[code] == (res.ward_code, res.was_legacy, res.ambiguous)


def test_area_classes_default_rule(session):
    danang = {w.code: w for w in session.scalars(select(Ward).where(Ward.province_code == 48))}
    classes = {w.area_class for w in danang.values()}
    assert classes == {"urban", "rural", "disadvantaged"}
    assert all(w.area_class == "urban" for w in danang.values() if w.division_type == "phường")
    hoang_sa = [w for w in danang.values() if w.division_type == "đặc khu"]
    assert hoang_sa and hoang_sa[0].area_class == "disadvantaged"


def test_reload_is_idempotent(session):
    assert load_units(session).skipped


def test_override_file_changes_classes(session, tmp_path):
    f = tmp_path / "classes.yaml"
    f.write_text("disadvantaged_legacy_districts: []\nwards: {20335: disadvantaged}\n", encoding="utf-8")
    r = load_units(session, f)
    assert not r.skipped
    assert session.get(Ward, 20335).area_class == "disadvantaged"
    session.rollback()  # keep the shared reference data as it was
