"""rules: life events detected from the person index

Revision ID: 20261121_0005
Revises: 20261121_0004
Create Date: 2026-11-22 00:20:00
"""

from alembic import op
import sqlalchemy as sa
import chudong.db


revision = '20261121_0005'
down_revision = "20261121_0004"
branch_labels = None
# life_event refers to the person index tables created by the registry migration.
depends_on = None


def upgrade() -> None:
    op.create_table('life_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('service_id', sa.String(length=60), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('building_plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('vital_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('occurrence', sa.String(length=40), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('detected_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.JSON(), nullable=False),
    sa.Column('created_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['building_plan_id'], ['building_plan.id'], name=op.f('fk_life_event_building_plan_id_building_plan')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_life_event_household_id_household')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_life_event_person_id_person')),
    sa.ForeignKeyConstraint(['vital_event_id'], ['vital_event.id'], name=op.f('fk_life_event_vital_event_id_vital_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_life_event')),
    sa.UniqueConstraint('key', name=op.f('uq_life_event_key'))
    )
    with op.batch_alter_table('life_event', schema=None) as batch_op:
        batch_op.create_index('ix_life_event_service_id_detected_on', ['service_id', 'detected_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_life_event_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_life_event_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('life_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_life_event_person_id'))
        batch_op.drop_index(batch_op.f('ix_life_event_household_id'))
        batch_op.drop_index('ix_life_event_service_id_detected_on')
    op.drop_table('life_event')
