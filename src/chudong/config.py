"""Settings read from the environment (prefix ``CHUDONG_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-secret-change-me"


class ConfigError(Exception):
    """A setting is missing or wrong; the message says which and what to do."""


class Settings(BaseSettings):
    """Every setting chudong reads; see README "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="CHUDONG_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = DEV_SECRET
    # Extra keys accepted for verifying old signatures/ciphertexts during rotation.
    old_secret_keys: list[str] = Field(default_factory=list)
    timezone: str = "Asia/Ho_Chi_Minh"
    province_code: int = 48
    language: Literal["vi", "en"] = "vi"
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    nats_url: str = "nats://127.0.0.1:4222"
    # ClamAV's daemon scanning uploaded documents: "unix:/run/clamav/clamd.ctl" or "tcp:host:port"; empty = no scan.
    clamd_address: str = ""
    # Per-ward overrides of the urban / rural / disadvantaged classification (YAML file).
    ward_classes_file: Path | None = None
    # Keys sealing personal data at rest (docs/SECURITY.md): "<key id>:<base64 32 bytes>,..." —
    # the first key seals new values, every listed key opens; and the key of the search hashes.
    # Outside production both fall back to keys derived from the secret key.
    data_keys: str = ""
    search_key: str = ""
    # Running it as a province does (docs/DEPLOY.md): worker lanes, the read replica, Kannel.
    # Move jobs between worker lanes: "lane=job,job;lane=job" (defaults in kit/jobs.py).
    worker_lanes: str = ""
    # SMS through Kannel's smsbox (``sendsms``): its URL (empty: no Kannel provider), the sendsms-user, the
    # sender name, an optional SMSC id; delivery reports come back to <kannel_dlr_base_url or base_url>.
    kannel_url: str = ""
    kannel_username: str = ""
    kannel_password: str = ""
    kannel_sender: str = "CHUDONG"
    kannel_smsc: str = ""
    kannel_name: str = "kannel"
    kannel_priority: int = 1
    kannel_rate_per_second: float = 100.0
    kannel_dlr_base_url: str = ""
    # A PostgreSQL streaming replica for read-only pages and reports (empty: everything reads the primary),
    # and the lag beyond which they read the primary instead.
    database_replica_url: str = ""
    replica_max_lag_seconds: float = Field(default=30.0, ge=0)
    # Retention of message bodies (the worker's privacy.purge_message_bodies empties them afterwards).
    message_retention_days: float = Field(default=90.0, gt=0)
    otp_retention_hours: float = Field(default=24.0, gt=0)
    # --- behind the reverse proxy; national sign-in over OpenID Connect (docs/DEPLOY.md, docs/SECURITY.md) ---
    # Addresses/networks of the reverse proxy whose X-Forwarded-For is believed (`serve --forwarded-allow-ips`).
    forwarded_allow_ips: str = ""
    # The national identity provider: issuer URL (its /.well-known/openid-configuration is read), the client
    # registered for this portal, and the ID-token claim holding the 12-digit personal ID number.
    # National sign-in is offered only when the issuer is set.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_pid_claim: str = "pid"
    oidc_scope: str = "openid"

    @model_validator(mode="after")
    def _refuse_dev_secret(self) -> Settings:
        if self.env == "production" and self.secret_key == DEV_SECRET:
            raise ValueError(
                "CHUDONG_SECRET_KEY is the development default; set a long random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        from chudong.privacy.crypto import KeySpecError, parse_data_keys, parse_search_key

        if self.env == "production" and not (self.data_keys.strip() and self.search_key.strip()):
            raise ValueError(
                "CHUDONG_DATA_KEYS and CHUDONG_SEARCH_KEY must be set in production: personal data is "
                "encrypted at rest with them (make keys with `chudong privacy keygen`; see docs/SECURITY.md)"
            )
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            raise ValueError("CHUDONG_OIDC_ISSUER is set: CHUDONG_OIDC_CLIENT_ID and CHUDONG_OIDC_CLIENT_SECRET must be "
                             "set too (the client registered with the national identity provider)")
        if self.env == "production" and self.oidc_issuer and not self.oidc_issuer.startswith("https://"):
            raise ValueError("CHUDONG_OIDC_ISSUER must be an https:// URL in production")
        try:
            if self.data_keys.strip():
                parse_data_keys(self.data_keys)
            if self.search_key.strip():
                parse_search_key(self.search_key)
        except KeySpecError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def effective_database_url(self) -> str:
        """Return the configured URL, or the embedded SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'chudong.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, reading the environment once."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        parts = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"])
            msg = str(e["msg"]).removeprefix("Value error, ")
            parts.append(f"CHUDONG_{where.upper()}: {msg}" if where else msg)
        raise ConfigError("; ".join(parts)) from None
