"""Backups and restores: SQLite via the online backup API, PostgreSQL via pg_dump / pg_restore."""
