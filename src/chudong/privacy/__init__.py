"""Personal data at rest: field encryption (AES-256-GCM) with rotating keys, and keyed search hashes."""
