"""Working-day calendar overrides stored in the database (ad-hoc government decisions)."""
