"""Human names of the Decision 766 indicators and groups and of the area classes (English ids; vi.po translates)."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_skeleton

from chudong.web.i18n import current_language, gettext as _

INDICATORS = {
    "published_on_time": "Procedures published on time",
    "updated_on_time": "Procedures updated on time",
    "complete_content": "Procedures with complete content",
    "status_synced": "Dossier status synchronised to the national portal",
    "progress": "Dossiers settled or in progress within the deadline",
    "full_online": "Dossiers submitted fully online",
    "paid_online": "Fees paid online",
    "petitions_on_time": "Petitions answered on time",
    "petition_satisfaction": "Petitions answered to the petitioner's satisfaction",
    "dossier_satisfaction": "Dossiers without complaint, late settlement or poor rating",
    "electronic_results": "Results issued electronically",
    "components_digitised": "Dossier components digitised",
    "e_certified_copies": "Electronic certified copies",
    "data_reused": "Dossiers reusing data already held",
    "linked_for_reuse": "Digitised results linked for reuse",
    "population_data_dossiers": "Dossiers using the population database",
    "population_data_procedures": "Procedures connected to the population database",
}
GROUPS = {
    "transparency": "Publicity and transparency",
    "progress": "Progress of settlement",
    "online_service": "Online public services",
    "online_payment": "Online payment",
    "satisfaction": "Satisfaction",
    "digitisation": "Digitisation of dossiers and results",
}
AREA_CLASSES = {"urban": "urban", "rural": "rural", "disadvantaged": "disadvantaged"}


def indicator_name(key: str) -> str:
    """Return an indicator's name in the current language."""
    return _(INDICATORS.get(key, key))


def group_name(key: str) -> str:
    """Return an indicator group's name in the current language."""
    return _(GROUPS.get(key, key))


def area_name(key: str | None) -> str:
    """Return an area class (urban / rural / disadvantaged) in the current language."""
    return _(AREA_CLASSES.get(key or "", key or ""))


def fmt_month(value: str | dt.date) -> str:
    """Return a month in words ("tháng 10 năm 2026" / "October 2026"); a text that is not a month is returned as is."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:7] + "-01")
        except ValueError:
            return value
    return format_skeleton("yMMMM", value, locale=current_language())


HELPERS = {"fmt_month": fmt_month, "indicator_name": indicator_name, "group_name": group_name, "area_name": area_name}
