"""registry: a licence can say it has no expiry (feeds v1.1 ``expires_on = none``)

Revision ID: 20261205_0018
Revises: 20261205_0017

``licence.expires_on`` empty now means "not supplied: derive the term by the law in force on the
issue date"; ``no_expiry`` records the fact "this document has no expiry" sent by the agency.
"""

import sqlalchemy as sa
from alembic import op

revision = "20261205_0018"
down_revision = "20261205_0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("licence") as batch:
        batch.add_column(sa.Column("no_expiry", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("licence") as batch:
        batch.drop_column("no_expiry")
