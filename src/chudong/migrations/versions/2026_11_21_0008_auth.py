"""auth: staff accounts, web sessions, one-time codes, rate-limit buckets

Revision ID: 20261121_0008
Revises: 20261121_0007
"""

import sqlalchemy as sa
from alembic import op

import chudong.db

revision = "20261121_0008"
down_revision = "20261121_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("unit_code", sa.String(length=40), nullable=True),
        sa.Column("agency", sa.String(length=40), nullable=True),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", chudong.db.UTCDateTime(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_account")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_account_username")),
    )
    op.create_table(
        "web_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("principal_kind", sa.String(length=10), nullable=False),
        sa.Column("principal_id", sa.BigInteger(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", chudong.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", chudong.db.UTCDateTime(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
    )
    op.create_index(op.f("ix_web_session_principal_id"), "web_session", ["principal_id"])
    op.create_table(
        "one_time_code",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", chudong.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", chudong.db.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_one_time_code_person_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_code")),
    )
    op.create_index(op.f("ix_one_time_code_person_id"), "one_time_code", ["person_id"])
    op.create_table(
        "rate_limit_bucket",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("window_start", chudong.db.UTCDateTime(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_limit_bucket")),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_bucket")
    op.drop_index(op.f("ix_one_time_code_person_id"), table_name="one_time_code")
    op.drop_table("one_time_code")
    op.drop_index(op.f("ix_web_session_principal_id"), table_name="web_session")
    op.drop_table("web_session")
    op.drop_table("staff_account")
