"""National sign-in: citizens sign in through the national electronic identity (OpenID Connect, see auth/oidc.py)."""
