"""national sign-in: one-use states of OpenID Connect sign-ins

Revision ID: 20261205_0019
Revises: 20261205_0018

``national_signin_attempt``: the hash of each state sent to the national identity provider, so its answer
is accepted once and only within minutes. (Issue #20 lead: chained after H20b's 0020 in the shared branch;
re-chain after 0016's successor at merge.)
"""

import sqlalchemy as sa
from alembic import op

from chudong.db import UTCDateTime

revision = "20261205_0019"
down_revision = "20261205_0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "national_signin_attempt",
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("state_hash", name="pk_national_signin_attempt"),
    )
    op.create_index("ix_national_signin_attempt_expires_at", "national_signin_attempt", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_national_signin_attempt_expires_at", table_name="national_signin_attempt")
    op.drop_table("national_signin_attempt")
