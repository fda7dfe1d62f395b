"""Tamper-evident audit log: hash-chained entries, anchors, verification."""
