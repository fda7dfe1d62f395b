"""linkage: review queue of uncertain person links

Revision ID: 20261121_0004
Revises: 20261121_0003
Create Date: 2026-11-22 00:40:00
"""

from alembic import op
import sqlalchemy as sa
import chudong.db


revision = '20261121_0004'
down_revision = "20261121_0003"
branch_labels = None
# link_review refers to person and source_record, created by the registry revision
depends_on = None


def upgrade() -> None:
    op.create_table('link_review',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('record_ref', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('probability', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', chudong.db.UTCDateTime(), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_at', chudong.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_link_review_person_id_person')),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_link_review_source_record_id_source_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_review'))
    )
    with op.batch_alter_table('link_review', schema=None) as batch_op:
        batch_op.create_index('ix_link_review_status_probability', ['status', 'probability'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_review_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_review_record_ref'), ['record_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_review_source_record_id'), ['source_record_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('link_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_review_source_record_id'))
        batch_op.drop_index(batch_op.f('ix_link_review_record_ref'))
        batch_op.drop_index(batch_op.f('ix_link_review_person_id'))
        batch_op.drop_index('ix_link_review_status_probability')
    op.drop_table('link_review')
