"""Service-quality index (Decision 766/QĐ-TTg), pilot KPIs, reports and demand forecasting."""
