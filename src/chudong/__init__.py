"""chudong: proactive public administration."""
