"""registry: school level length, detection indexes on licence, household, building plan

Revision ID: 20261121_0009
Revises: 20261121_0008
"""

import sqlalchemy as sa
from alembic import op

revision = "20261121_0009"
down_revision = "20261121_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("school") as batch:
        batch.alter_column("level", type_=sa.String(length=20), existing_type=sa.String(length=10),
                           existing_nullable=False)
    op.create_index("ix_licence_kind_expires_on", "licence", ["kind", "expires_on"])
    op.create_index("ix_licence_kind_issued_on", "licence", ["kind", "issued_on"])
    op.create_index(op.f("ix_household_survey_date"), "household", ["survey_date"])
    op.create_index(op.f("ix_building_plan_declared_on"), "building_plan", ["declared_on"])


def downgrade() -> None:
    op.drop_index(op.f("ix_building_plan_declared_on"), table_name="building_plan")
    op.drop_index(op.f("ix_household_survey_date"), table_name="household")
    op.drop_index("ix_licence_kind_issued_on", table_name="licence")
    op.drop_index("ix_licence_kind_expires_on", table_name="licence")
    with op.batch_alter_table("school") as batch:
        batch.alter_column("level", type_=sa.String(length=10), existing_type=sa.String(length=20),
                           existing_nullable=False)
