"""Small shared pieces: clock, working-day calendar, ids, text helpers."""
