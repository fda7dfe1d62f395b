"""audit chain, audit anchors, domain event log

Revision ID: 20261121_0007
Revises: 20261121_0006
Create Date: 2026-11-21 12:00:00
"""

from alembic import op
import sqlalchemy as sa
import chudong.db


revision = '20261121_0007'
down_revision = "20261121_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_entry',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('subject_kind', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=120), nullable=False),
    sa.Column('purpose', sa.String(length=300), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_entry')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_entry_hash')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_audit_entry_prev_hash'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_action'), ['action'], unique=False)
        batch_op.create_index('ix_audit_entry_subject', ['subject_kind', 'subject_id'], unique=False)

    op.create_table('audit_anchor',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_anchor'))
    )
    op.create_table('domain_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=80), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('occurred_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('published_at', chudong.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_event')),
    sa.UniqueConstraint('event_id', name=op.f('uq_domain_event_event_id'))
    )
    with op.batch_alter_table('domain_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_domain_event_published_at'), ['published_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_domain_event_type'), ['type'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('domain_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_domain_event_type'))
        batch_op.drop_index(batch_op.f('ix_domain_event_published_at'))
    op.drop_table('domain_event')
    op.drop_table('audit_anchor')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entry_subject')
        batch_op.drop_index(batch_op.f('ix_audit_entry_action'))
    op.drop_table('audit_entry')
