"""Sign-in: staff accounts (argon2 + optional TOTP), citizen one-time codes, web sessions, CSRF, rate limits."""
