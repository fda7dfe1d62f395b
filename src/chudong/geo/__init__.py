"""Administrative units: 2025 two-level provinces and wards, legacy units, old→new mapping."""
