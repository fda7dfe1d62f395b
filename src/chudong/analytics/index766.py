"""The Decision 766/QĐ-TTg service-quality index: six groups, 100 points.

Pure arithmetic over counts, so every figure can be recomputed by hand and explained.
The counts come from ``analytics.service`` (SQL over dossiers, petitions, results).

Rules for indicators that do not apply (documented in docs/analytics.md):
- an indicator whose denominator is 0 is *not applicable* (never a fake 100%);
- inside the satisfaction group, with no petitions the 12 petition points go to the
  dossier-satisfaction indicator (as the national portal does);
- otherwise the total is rescaled: score = earned ÷ applicable maximum × 100, and the
  report says which indicators were left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ratio:
    """A numerator over a denominator; ``None`` value when the denominator is 0."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """Return the ratio in [0, 1], or None when not applicable."""
        if self.denominator <= 0:
            return None
        return min(1.0, max(0.0, self.numerator / self.denominator))


@dataclass(frozen=True)
class Indicator:
    """One sub-indicator: its weight, the ratio behind it and the points earned."""

    key: str
    group: str
    weight: float
    ratio: Ratio
    points: float | None  # None = not applicable
    note: str = ""

    @property
    def applicable(self) -> bool:
        """Return True when the indicator could be computed for the period."""
        return self.points is not None


@dataclass(frozen=True)
class IndexInputs:
    """Counts for one scope (province, unit or service) and period."""

    # transparency (18)
    procedures_published_on_time: Ratio
    procedures_updated_on_time: Ratio
    procedures_complete_content: Ratio
    dossiers_status_synced: Ratio
    # progress of settlement (20): (settled early/on time + in progress within deadline) ÷ all
    progress_ok: Ratio
    # online service (12)
    full_online: Ratio
    # online payment (10)
    paid_online: Ratio
    # satisfaction (18)
    petitions_on_time: Ratio
    petitions_satisfied: Ratio
    dossiers_satisfied: Ratio  # (all − rated unsatisfied, complained or late) ÷ all
    # digitisation (22)
    electronic_results: Ratio
    components_digitised: Ratio
    e_certified_copies: Ratio
    data_reused: Ratio
    digitised_linked_for_reuse: Ratio
    dossiers_using_population_data: Ratio
    procedures_connected_population_data: Ratio


# (key, group, weight, attribute of IndexInputs)
WEIGHTS: tuple[tuple[str, str, float, str], ...] = (
    ("published_on_time", "transparency", 6, "procedures_published_on_time"),
    ("updated_on_time", "transparency", 4, "procedures_updated_on_time"),
    ("complete_content", "transparency", 2, "procedures_complete_content"),
    ("status_synced", "transparency", 6, "dossiers_status_synced"),
    ("progress", "progress", 20, "progress_ok"),
    ("full_online", "online_service", 12, "full_online"),
    ("paid_online", "online_payment", 10, "paid_online"),
    ("petitions_on_time", "satisfaction", 6, "petitions_on_time"),
    ("petition_satisfaction", "satisfaction", 6, "petitions_satisfied"),
    ("dossier_satisfaction", "satisfaction", 6, "dossiers_satisfied"),
    ("electronic_results", "digitisation", 6, "electronic_results"),
    ("components_digitised", "digitisation", 4, "components_digitised"),
    ("e_certified_copies", "digitisation", 2, "e_certified_copies"),
    ("data_reused", "digitisation", 2, "data_reused"),
    ("linked_for_reuse", "digitisation", 4, "digitised_linked_for_reuse"),
    ("population_data_dossiers", "digitisation", 2, "dossiers_using_population_data"),
    ("population_data_procedures", "digitisation", 2, "procedures_connected_population_data"),
)
GROUP_MAX = {"transparency": 18, "progress": 20, "online_service": 12, "online_payment": 10,
             "satisfaction": 18, "digitisation": 22}

# Rating bands (configurable parameter; Decision 766/QĐ-TTg methodology as published)
BANDS: tuple[tuple[float, str], ...] = ((90, "excellent"), (70, "good"), (50, "average"), (0, "weak"))


@dataclass(frozen=True)
class IndexResult:
    """The computed index with every indicator, group totals and the band."""

    indicators: list[Indicator]
    groups: dict[str, float | None] = field(default_factory=dict)
    total: float | None = None
    applicable_max: float = 0
    band: str | None = None
    not_applicable: list[str] = field(default_factory=list)


def band_for(total: float) -> str:
    """Return the rating band of a total score."""
    for floor, name in BANDS:
        if total >= floor:
            return name
    return BANDS[-1][1]


def compute(inputs: IndexInputs) -> IndexResult:
    """Compute the index from counts, applying the not-applicable rules."""
    weights = {key: weight for key, _, weight, _ in WEIGHTS}
    petitions_exist = inputs.petitions_on_time.denominator > 0 or inputs.petitions_satisfied.denominator > 0
    if not petitions_exist:
        weights["petitions_on_time"] = 0
        weights["petition_satisfaction"] = 0
        weights["dossier_satisfaction"] = 18
    indicators: list[Indicator] = []
    for key, group, _, attr in WEIGHTS:
        ratio: Ratio = getattr(inputs, attr)
        weight = weights[key]
        if weight == 0:
            indicators.append(Indicator(key, group, 0, ratio, None, "no petitions: points moved to dossier satisfaction"))
            continue
        value = ratio.value
        points = None if value is None else round(value * weight, 4)
        indicators.append(Indicator(key, group, weight, ratio, points, "" if value is not None else "no data: not applicable"))
    groups: dict[str, float | None] = {}
    for group in GROUP_MAX:
        parts = [i.points for i in indicators if i.group == group and i.applicable]
        groups[group] = round(sum(parts), 4) if parts else None  # type: ignore[arg-type]
    applicable = [i for i in indicators if i.applicable]
    if not applicable:
        return IndexResult(indicators, groups, None, 0, None, [i.key for i in indicators])
    earned = sum(i.points for i in applicable)  # type: ignore[misc]
    applicable_max = sum(i.weight for i in applicable)
    total = round(earned / applicable_max * 100, 2)
    return IndexResult(
        indicators, groups, total, applicable_max, band_for(total),
        [i.key for i in indicators if not i.applicable and i.weight > 0],
    )
