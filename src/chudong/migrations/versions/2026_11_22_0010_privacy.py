"""privacy: personal ID numbers, phones, e-mails, incomes and raw records sealed at rest; search hashes

Revision ID: 20261122_0010
Revises: 20261121_0009

Sealed columns become text (ciphertext ``v1.<key id>.<base64>``); ``person`` gets the search
hashes ``pid_hash`` (unique, replacing the unique personal ID number), ``phone_hash`` and
``email_hash`` (indexed). Existing rows are sealed in batches with the keys of the settings
(CHUDONG_DATA_KEYS / CHUDONG_SEARCH_KEY); ``source_record.content_hash`` becomes keyed. The
downgrade opens every value again (it needs the same keys) and restores the plain schema.
"""

import sqlalchemy as sa
from alembic import op

from chudong.privacy.service import PROTECTED_0010, run

revision = "20261122_0010"
down_revision = "20261121_0009"
branch_labels = None
depends_on = None

def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("pid_hash", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("phone_hash", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("email_hash", sa.String(length=32), nullable=True))
        batch.drop_constraint("uq_person_pid", type_="unique")
        batch.alter_column("pid", type_=sa.Text(), existing_type=sa.String(length=12), existing_nullable=True)
        batch.alter_column("phone", type_=sa.Text(), existing_type=sa.String(length=16), existing_nullable=True)
        batch.alter_column("email", type_=sa.Text(), existing_type=sa.String(length=200), existing_nullable=True)
        batch.create_unique_constraint("uq_person_pid_hash", ["pid_hash"])
        batch.create_index("ix_person_phone_hash", ["phone_hash"])
        batch.create_index("ix_person_email_hash", ["email_hash"])
    with op.batch_alter_table("household") as batch:
        batch.alter_column("income_per_person", type_=sa.Text(), existing_type=sa.BigInteger(),
                           existing_nullable=True)
    with op.batch_alter_table("licence") as batch:
        batch.alter_column("holder_pid", type_=sa.Text(), existing_type=sa.String(length=12), existing_nullable=True)
    run(op.get_bind(), "seal", specs=PROTECTED_0010)


def downgrade() -> None:
    run(op.get_bind(), "open", specs=PROTECTED_0010)
    with op.batch_alter_table("licence") as batch:
        batch.alter_column("holder_pid", type_=sa.String(length=12), existing_type=sa.Text(), existing_nullable=True)
    with op.batch_alter_table("household") as batch:
        batch.alter_column("income_per_person", type_=sa.BigInteger(), existing_type=sa.Text(),
                           existing_nullable=True, postgresql_using="income_per_person::bigint")
    with op.batch_alter_table("person") as batch:
        batch.drop_index("ix_person_email_hash")
        batch.drop_index("ix_person_phone_hash")
        batch.drop_constraint("uq_person_pid_hash", type_="unique")
        batch.alter_column("email", type_=sa.String(length=200), existing_type=sa.Text(), existing_nullable=True)
        batch.alter_column("phone", type_=sa.String(length=16), existing_type=sa.Text(), existing_nullable=True)
        batch.alter_column("pid", type_=sa.String(length=12), existing_type=sa.Text(), existing_nullable=True)
        batch.create_unique_constraint("uq_person_pid", ["pid"])
        batch.drop_column("email_hash")
        batch.drop_column("phone_hash")
        batch.drop_column("pid_hash")
