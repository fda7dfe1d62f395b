"""dossiers

Revision ID: 20261121_0006
Revises: 20261121_0005
Create Date: 2026-11-22 00:07:53.820889
"""

from alembic import op
import sqlalchemy as sa
import chudong.db


revision = '20261121_0006'
down_revision = "20261121_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('unit',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('province_code', sa.Integer(), nullable=False),
    sa.Column('ward_code', sa.Integer(), nullable=True),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('capacity_weight', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], name=op.f('fk_unit_ward_code_ward')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_unit'))
    )
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_agency'), ['agency'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_province_code'), ['province_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_ward_code'), ['ward_code'], unique=False)

    op.create_table('officer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=60), nullable=False),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('unit_code', sa.String(length=40), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['unit_code'], ['unit.code'], name=op.f('fk_officer_unit_code_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officer')),
    sa.UniqueConstraint('username', name=op.f('uq_officer_username'))
    )
    with op.batch_alter_table('officer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_officer_unit_code'), ['unit_code'], unique=False)

    op.create_table('dossier',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('service_id', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('title', sa.JSON(), nullable=False),
    sa.Column('life_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('building_plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('vital_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('business_ref', sa.String(length=40), nullable=True),
    sa.Column('province_code', sa.Integer(), nullable=False),
    sa.Column('ward_code', sa.Integer(), nullable=True),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('receiving_unit_code', sa.String(length=40), nullable=True),
    sa.Column('handling_unit_code', sa.String(length=40), nullable=True),
    sa.Column('assigned_officer_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('fields_total', sa.Integer(), nullable=False),
    sa.Column('fields_prefilled', sa.Integer(), nullable=False),
    sa.Column('prefill_share', sa.Float(), nullable=False),
    sa.Column('risk', sa.Integer(), nullable=False),
    sa.Column('linked_choice', sa.JSON(), nullable=True),
    sa.Column('opened_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('offer_expires_on', sa.Date(), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('settlement_working_days', sa.Integer(), nullable=True),
    sa.Column('settlement_calendar_days', sa.Integer(), nullable=True),
    sa.Column('supplement_window_working_days', sa.Integer(), nullable=True),
    sa.Column('paused_working_days', sa.Integer(), nullable=False),
    sa.Column('paused_since', sa.Date(), nullable=True),
    sa.Column('supplement_due_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('escalated_at', chudong.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('settled_on', sa.Date(), nullable=True),
    sa.Column('settlement_class', sa.String(length=10), nullable=True),
    sa.Column('auto_approved', sa.Boolean(), nullable=False),
    sa.Column('closed_at', chudong.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assigned_officer_id'], ['officer.id'], name=op.f('fk_dossier_assigned_officer_id_officer')),
    sa.ForeignKeyConstraint(['handling_unit_code'], ['unit.code'], name=op.f('fk_dossier_handling_unit_code_unit')),
    sa.ForeignKeyConstraint(['parent_id'], ['dossier.id'], name=op.f('fk_dossier_parent_id_dossier')),
    sa.ForeignKeyConstraint(['receiving_unit_code'], ['unit.code'], name=op.f('fk_dossier_receiving_unit_code_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier')),
    sa.UniqueConstraint('code', name=op.f('uq_dossier_code')),
    sa.UniqueConstraint('life_event_id', name=op.f('uq_dossier_life_event_id'))
    )
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossier_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossier_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_dossier_queue', ['handling_unit_code', 'status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossier_service_id'), ['service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossier_status'), ['status'], unique=False)

    op.create_table('data_access_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_data_access_log_dossier_id_dossier')),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], name=op.f('fk_data_access_log_officer_id_officer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_access_log'))
    )
    with op.batch_alter_table('data_access_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_access_log_dossier_id'), ['dossier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_access_log_person_id'), ['person_id'], unique=False)

    op.create_table('dossier_attachment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('media_type', sa.String(length=60), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=80), nullable=False),
    sa.Column('uploaded_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_dossier_attachment_dossier_id_dossier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_attachment'))
    )
    with op.batch_alter_table('dossier_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_attachment_dossier_id'), ['dossier_id'], unique=False)

    op.create_table('dossier_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('from_status', sa.String(length=24), nullable=True),
    sa.Column('to_status', sa.String(length=24), nullable=True),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_dossier_event_dossier_id_dossier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_event')),
    sa.UniqueConstraint('dossier_id', 'seq', name=op.f('uq_dossier_event_dossier_id_seq'))
    )
    with op.batch_alter_table('dossier_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossier_event_dossier_id'), ['dossier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossier_event_kind'), ['kind'], unique=False)

    op.create_table('dossier_rating',
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('complaint', sa.Boolean(), nullable=False),
    sa.Column('rated_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_dossier_rating_dossier_id_dossier')),
    sa.PrimaryKeyConstraint('dossier_id', name=op.f('pk_dossier_rating'))
    )
    op.create_table('dossier_result',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('issued_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=80), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('nonce', sa.String(length=32), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.Column('revoked_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_dossier_result_dossier_id_dossier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_result')),
    sa.UniqueConstraint('dossier_id', name=op.f('uq_dossier_result_dossier_id')),
    sa.UniqueConstraint('number', name=op.f('uq_dossier_result_number'))
    )
    op.create_table('post_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dossier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('unit_code', sa.String(length=40), nullable=True),
    sa.Column('selected_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('auditor_id', sa.Integer(), nullable=True),
    sa.Column('finding', sa.Text(), nullable=True),
    sa.Column('audited_at', chudong.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['auditor_id'], ['officer.id'], name=op.f('fk_post_audit_auditor_id_officer')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], name=op.f('fk_post_audit_dossier_id_dossier')),
    sa.ForeignKeyConstraint(['unit_code'], ['unit.code'], name=op.f('fk_post_audit_unit_code_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_post_audit')),
    sa.UniqueConstraint('dossier_id', name=op.f('uq_post_audit_dossier_id'))
    )
    with op.batch_alter_table('post_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_audit_unit_code'), ['unit_code'], unique=False)

    op.create_table('result_verification',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('result_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['result_id'], ['dossier_result.id'], name=op.f('fk_result_verification_result_id_dossier_result')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_verification'))
    )
    with op.batch_alter_table('result_verification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_verification_result_id'), ['result_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('result_verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_result_verification_result_id'))

    op.drop_table('result_verification')
    with op.batch_alter_table('post_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_audit_unit_code'))

    op.drop_table('post_audit')
    op.drop_table('dossier_result')
    op.drop_table('dossier_rating')
    with op.batch_alter_table('dossier_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_event_kind'))
        batch_op.drop_index(batch_op.f('ix_dossier_event_dossier_id'))
        batch_op.drop_index(batch_op.f('ix_dossier_event_at'))

    op.drop_table('dossier_event')
    with op.batch_alter_table('dossier_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_attachment_dossier_id'))

    op.drop_table('dossier_attachment')
    with op.batch_alter_table('data_access_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_access_log_person_id'))
        batch_op.drop_index(batch_op.f('ix_data_access_log_dossier_id'))

    op.drop_table('data_access_log')
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_status'))
        batch_op.drop_index(batch_op.f('ix_dossier_service_id'))
        batch_op.drop_index('ix_dossier_queue')
        batch_op.drop_index(batch_op.f('ix_dossier_person_id'))
        batch_op.drop_index(batch_op.f('ix_dossier_parent_id'))
        batch_op.drop_index(batch_op.f('ix_dossier_due_on'))

    op.drop_table('dossier')
    with op.batch_alter_table('officer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_officer_unit_code'))

    op.drop_table('officer')
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_ward_code'))
        batch_op.drop_index(batch_op.f('ix_unit_province_code'))
        batch_op.drop_index(batch_op.f('ix_unit_agency'))

    op.drop_table('unit')
