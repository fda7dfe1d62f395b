"""Agency feed ingestion: CSV and FHIR feed formats, validation, set-based upserts, rejection reports."""
