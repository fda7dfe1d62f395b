"""App push providers."""
