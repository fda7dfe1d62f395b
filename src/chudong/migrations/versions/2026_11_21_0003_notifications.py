"""notifications: outbox, history, portal inbox, contact preferences, delivery receipts

Revision ID: 20261121_0003
Revises: 20261121_0002
Create Date: 2026-11-22 00:10:00

person_id columns are plain indexed integers (no foreign key to person): an outbox
row must never be blocked or lost by a change in the person index.
"""

from alembic import op
import sqlalchemy as sa
import chudong.db


revision = '20261121_0003'
down_revision = "20261121_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contact_preference',
    sa.Column('person_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=True),
    sa.Column('quiet_start', sa.String(length=5), nullable=True),
    sa.Column('quiet_end', sa.String(length=5), nullable=True),
    sa.Column('opt_out_optional', sa.Boolean(), nullable=False),
    sa.Column('sms_unaccented', sa.Boolean(), nullable=False),
    sa.Column('push_tokens', sa.JSON(), nullable=False),
    sa.Column('updated_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_contact_preference'))
    )
    op.create_table('notification',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_key', sa.String(length=200), nullable=False),
    sa.Column('step', sa.String(length=60), nullable=False),
    sa.Column('recipient_key', sa.String(length=220), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=True),
    sa.Column('service', sa.String(length=60), nullable=False),
    sa.Column('template_id', sa.String(length=60), nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=False),
    sa.Column('template_hash', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('mandatory', sa.Boolean(), nullable=False),
    sa.Column('quiet_hours', sa.String(length=11), nullable=True),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('channel_index', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('destinations', sa.JSON(), nullable=False),
    sa.Column('rendered', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', chudong.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=60), nullable=True),
    sa.Column('provider', sa.String(length=40), nullable=True),
    sa.Column('provider_message_id', sa.String(length=120), nullable=True),
    sa.Column('deliver_by', chudong.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', chudong.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', chudong.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('event_key', 'step', 'recipient_key', name=op.f('uq_notification_event_key_step_recipient_key'))
    )
    op.create_index(op.f('ix_notification_person_id'), 'notification', ['person_id'], unique=False)
    op.create_index('ix_notification_provider_message', 'notification', ['provider', 'provider_message_id'], unique=False)
    op.create_index('ix_notification_status_due_at', 'notification', ['status', 'due_at'], unique=False)
    op.create_table('delivery_receipt',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('provider_message_id', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('notification_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], name=op.f('fk_delivery_receipt_notification_id_notification')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_receipt'))
    )
    op.create_index(op.f('ix_delivery_receipt_notification_id'), 'delivery_receipt', ['notification_id'], unique=False)
    op.create_index('ix_delivery_receipt_provider_message', 'delivery_receipt', ['provider', 'provider_message_id'], unique=False)
    op.create_table('inbox_message',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('notification_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('created_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', chudong.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], name=op.f('fk_inbox_message_notification_id_notification')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_message')),
    sa.UniqueConstraint('notification_id', name=op.f('uq_inbox_message_notification_id'))
    )
    op.create_index(op.f('ix_inbox_message_person_id'), 'inbox_message', ['person_id'], unique=False)
    op.create_table('notification_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('notification_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=True),
    sa.Column('provider', sa.String(length=40), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], name=op.f('fk_notification_event_notification_id_notification')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_event'))
    )
    op.create_index(op.f('ix_notification_event_notification_id'), 'notification_event', ['notification_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_notification_event_notification_id'), table_name='notification_event')
    op.drop_table('notification_event')
    op.drop_index(op.f('ix_inbox_message_person_id'), table_name='inbox_message')
    op.drop_table('inbox_message')
    op.drop_index(op.f('ix_delivery_receipt_notification_id'), table_name='delivery_receipt')
    op.drop_index('ix_delivery_receipt_provider_message', table_name='delivery_receipt')
    op.drop_table('delivery_receipt')
    op.drop_index(op.f('ix_notification_person_id'), table_name='notification')
    op.drop_index('ix_notification_provider_message', table_name='notification')
    op.drop_index('ix_notification_status_due_at', table_name='notification')
    op.drop_table('notification')
    op.drop_table('contact_preference')
