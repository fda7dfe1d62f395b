"""E-mail providers."""
