"""Dossiers: pre-filled cases opened from life events, processed against legal deadlines."""
