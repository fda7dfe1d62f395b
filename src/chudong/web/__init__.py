"""The web shell: layout, templates, translations, static files, health and metrics."""
