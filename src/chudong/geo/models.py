"""Tables of administrative units (reference data loaded from ``vietnam-provinces``)."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chudong.db import Base


class Province(Base):
    """A province or centrally-run city since 1 July 2025 (34 in all)."""

    __tablename__ = "province"
    __table_args__ = {"info": {"reference": True}}

    code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    division_type: Mapped[str] = mapped_column(String(40))


class Ward(Base):
    """A ward, commune or special zone since 1 July 2025, with its service area class."""

    __tablename__ = "ward"
    __table_args__ = {"info": {"reference": True}}

    code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    division_type: Mapped[str] = mapped_column(String(20))
    province_code: Mapped[int] = mapped_column(ForeignKey("province.code"), index=True)
    # urban / rural / disadvantaged: drives the 1,600 / 1,200 / 800 productivity targets
    area_class: Mapped[str] = mapped_column(String(16))


class LegacyWard(Base):
    """A pre-2025 ward / commune / township, with its old district and province."""

    __tablename__ = "legacy_ward"
    __table_args__ = {"info": {"reference": True}}

    code: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    district_code: Mapped[int] = mapped_column(Integer, index=True)
    district_name: Mapped[str] = mapped_column(String(100))
    province_code: Mapped[int] = mapped_column(Integer, index=True)
    province_name: Mapped[str] = mapped_column(String(100))


class WardMapping(Base):
    """One old ward → new ward edge; a partly merged old ward has several."""

    __tablename__ = "ward_mapping"
    __table_args__ = {"info": {"reference": True}}

    legacy_code: Mapped[int] = mapped_column(ForeignKey("legacy_ward.code"), primary_key=True)
    new_code: Mapped[int] = mapped_column(ForeignKey("ward.code"), primary_key=True)
    partly_merged: Mapped[bool] = mapped_column(Boolean, default=False)
    # The new ward that received the old ward's seat (first listed by the official table)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)


class ReferenceData(Base):
    """Which version of a reference data set is loaded (idempotent loaders)."""

    __tablename__ = "reference_data"
    __table_args__ = {"info": {"reference": True}}

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    version: Mapped[str] = mapped_column(String(60))
