"""notifications: outbox, history, portal inbox, contact preferences, delivery receipts

Revision ID: 20261121_0003
Revises: 20261121_0001
Create Date: 2026-11-22 00:10:00

person_id columns are plain indexed integers (no foreign key to person): an outbox
row must never be blocked or lost by a change in the person index.
"""

from alembic import op
import sqlalchemy as sa
import chudong.db


revision = '20261121_0003'
down_revision = '20261121_0001'
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
    op.drop_table('ward_mapping')
    op.drop_index(op.f('ix_quality_issue_agency_code'), table_name='quality_issue')
    op.drop_index(op.f('ix_quality_issue_person_id'), table_name='quality_issue')
    op.drop_index(op.f('ix_quality_issue_status_kind'), table_name='quality_issue')
    op.drop_table('quality_issue')
    op.drop_index(op.f('ix_ward_province_code'), table_name='ward')
    op.drop_table('ward')
    op.drop_table('reference_data')
    op.drop_index(op.f('ix_vital_event_event_date'), table_name='vital_event')
    op.drop_index(op.f('ix_vital_event_mother_person_id'), table_name='vital_event')
    op.drop_table('vital_event')
    op.drop_index(op.f('ix_legacy_ward_district_code'), table_name='legacy_ward')
    op.drop_index(op.f('ix_legacy_ward_province_code'), table_name='legacy_ward')
    op.drop_table('legacy_ward')
    op.drop_table('agency')
    op.drop_index(op.f('ix_ingest_rejection_run_id'), table_name='ingest_rejection')
    op.drop_table('ingest_rejection')
    op.drop_index(op.f('ix_building_plan_person_id'), table_name='building_plan')
    op.drop_table('building_plan')
    op.drop_index(op.f('ix_one_time_code_person_id'), table_name='one_time_code')
    op.drop_table('one_time_code')
    op.drop_index(op.f('ix_audit_entry_action'), table_name='audit_entry')
    op.drop_index(op.f('ix_audit_entry_subject'), table_name='audit_entry')
    op.drop_table('audit_entry')
    op.drop_table('calendar_override')
    op.drop_table('school')
    op.drop_index(op.f('ix_web_session_principal_id'), table_name='web_session')
    op.drop_table('web_session')
    op.drop_index(op.f('ix_source_record_person_id'), table_name='source_record')
    op.drop_index(op.f('ix_source_record_run_id'), table_name='source_record')
    op.drop_table('source_record')
    op.drop_index(op.f('ix_person_birth_date'), table_name='person')
    op.drop_index(op.f('ix_person_household_id'), table_name='person')
    op.drop_index(op.f('ix_person_name_key'), table_name='person')
    op.drop_index(op.f('ix_person_ward_code'), table_name='person')
    op.drop_table('person')
    op.drop_index(op.f('ix_utility_customer_person_id'), table_name='utility_customer')
    op.drop_table('utility_customer')
    op.drop_index(op.f('ix_household_ward_code'), table_name='household')
    op.drop_table('household')
    op.drop_index(op.f('ix_link_review_person_id'), table_name='link_review')
    op.drop_index(op.f('ix_link_review_record_ref'), table_name='link_review')
    op.drop_index(op.f('ix_link_review_source_record_id'), table_name='link_review')
    op.drop_index(op.f('ix_link_review_status_probability'), table_name='link_review')
    op.drop_table('link_review')
    op.drop_index(op.f('ix_life_event_household_id'), table_name='life_event')
    op.drop_index(op.f('ix_life_event_person_id'), table_name='life_event')
    op.drop_index(op.f('ix_life_event_service_id_detected_on'), table_name='life_event')
    op.drop_table('life_event')
    op.drop_index(op.f('ix_ingest_run_agency_code'), table_name='ingest_run')
    op.drop_table('ingest_run')
    op.drop_index(op.f('ix_licence_expires_on'), table_name='licence')
    op.drop_index(op.f('ix_licence_person_id'), table_name='licence')
    op.drop_table('licence')
    op.drop_index(op.f('ix_domain_event_published_at'), table_name='domain_event')
    op.drop_index(op.f('ix_domain_event_type'), table_name='domain_event')
    op.drop_table('domain_event')
    op.drop_table('audit_anchor')
    op.drop_table('rate_limit_bucket')
    op.drop_table('province')
    op.drop_table('staff_account')


def downgrade() -> None:
    op.create_table('staff_account',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('username', sa.VARCHAR(length=60), nullable=False),
    sa.Column('full_name', sa.VARCHAR(length=120), nullable=False),
    sa.Column('role', sa.VARCHAR(length=20), nullable=False),
    sa.Column('unit_code', sa.VARCHAR(length=40), nullable=True),
    sa.Column('agency', sa.VARCHAR(length=40), nullable=True),
    sa.Column('services', sqlite.JSON(), nullable=False),
    sa.Column('password_hash', sa.VARCHAR(length=200), nullable=False),
    sa.Column('totp_secret', sa.VARCHAR(length=64), nullable=True),
    sa.Column('failed_attempts', sa.INTEGER(), nullable=False),
    sa.Column('locked_until', sa.DATETIME(), nullable=True),
    sa.Column('active', sa.BOOLEAN(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_account')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_account_username'))
    )
    op.create_table('province',
    sa.Column('code', sa.INTEGER(), nullable=False),
    sa.Column('name', sa.VARCHAR(length=100), nullable=False),
    sa.Column('division_type', sa.VARCHAR(length=40), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_province'))
    )
    op.create_table('rate_limit_bucket',
    sa.Column('key', sa.VARCHAR(length=120), nullable=False),
    sa.Column('window_start', sa.DATETIME(), nullable=False),
    sa.Column('hits', sa.INTEGER(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_limit_bucket'))
    )
    op.create_table('audit_anchor',
    sa.Column('seq', sa.INTEGER(), nullable=False),
    sa.Column('hash', sa.VARCHAR(length=64), nullable=False),
    sa.Column('at', sa.DATETIME(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_anchor'))
    )
    op.create_table('domain_event',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('event_id', sa.CHAR(length=32), nullable=False),
    sa.Column('type', sa.VARCHAR(length=80), nullable=False),
    sa.Column('subject', sa.VARCHAR(length=200), nullable=False),
    sa.Column('occurred_at', sa.DATETIME(), nullable=False),
    sa.Column('payload', sqlite.JSON(), nullable=False),
    sa.Column('published_at', sa.DATETIME(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_event')),
    sa.UniqueConstraint('event_id', name=op.f('uq_domain_event_event_id'))
    )
    op.create_index(op.f('ix_domain_event_type'), 'domain_event', ['type'], unique=False)
    op.create_index(op.f('ix_domain_event_published_at'), 'domain_event', ['published_at'], unique=False)
    op.create_table('licence',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('kind', sa.VARCHAR(length=30), nullable=False),
    sa.Column('licence_class', sa.VARCHAR(length=10), nullable=True),
    sa.Column('number', sa.VARCHAR(length=40), nullable=False),
    sa.Column('person_id', sa.INTEGER(), nullable=True),
    sa.Column('holder_pid', sa.VARCHAR(length=12), nullable=True),
    sa.Column('issued_on', sa.DATE(), nullable=False),
    sa.Column('expires_on', sa.DATE(), nullable=True),
    sa.Column('issuing_agency', sa.VARCHAR(length=120), nullable=False),
    sa.Column('revoked', sa.BOOLEAN(), nullable=False),
    sa.Column('source_record_id', sa.INTEGER(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_licence_person_id_person')),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_licence_source_record_id_source_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licence')),
    sa.UniqueConstraint('kind', 'number', name=op.f('uq_licence_kind_number'))
    )
    op.create_index(op.f('ix_licence_person_id'), 'licence', ['person_id'], unique=False)
    op.create_index(op.f('ix_licence_expires_on'), 'licence', ['expires_on'], unique=False)
    op.create_table('ingest_run',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('feed', sa.VARCHAR(length=30), nullable=False),
    sa.Column('agency_code', sa.VARCHAR(length=40), nullable=False),
    sa.Column('file_name', sa.VARCHAR(length=300), nullable=False),
    sa.Column('status', sa.VARCHAR(length=12), nullable=False),
    sa.Column('file_error', sa.TEXT(), nullable=True),
    sa.Column('accepted', sa.INTEGER(), nullable=False),
    sa.Column('updated', sa.INTEGER(), nullable=False),
    sa.Column('unchanged', sa.INTEGER(), nullable=False),
    sa.Column('rejected', sa.INTEGER(), nullable=False),
    sa.Column('started_at', sa.DATETIME(), nullable=False),
    sa.Column('finished_at', sa.DATETIME(), nullable=True),
    sa.ForeignKeyConstraint(['agency_code'], ['agency.code'], name=op.f('fk_ingest_run_agency_code_agency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_run'))
    )
    op.create_index(op.f('ix_ingest_run_agency_code'), 'ingest_run', ['agency_code'], unique=False)
    op.create_table('life_event',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('key', sa.VARCHAR(length=200), nullable=False),
    sa.Column('service_id', sa.VARCHAR(length=60), nullable=False),
    sa.Column('subject_kind', sa.VARCHAR(length=20), nullable=False),
    sa.Column('person_id', sa.INTEGER(), nullable=True),
    sa.Column('household_id', sa.INTEGER(), nullable=True),
    sa.Column('building_plan_id', sa.INTEGER(), nullable=True),
    sa.Column('vital_event_id', sa.INTEGER(), nullable=True),
    sa.Column('occurrence', sa.VARCHAR(length=40), nullable=False),
    sa.Column('due_date', sa.DATE(), nullable=False),
    sa.Column('detected_on', sa.DATE(), nullable=False),
    sa.Column('reason', sqlite.JSON(), nullable=False),
    sa.Column('created_at', sa.DATETIME(), nullable=False),
    sa.ForeignKeyConstraint(['building_plan_id'], ['building_plan.id'], name=op.f('fk_life_event_building_plan_id_building_plan')),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_life_event_household_id_household')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_life_event_person_id_person')),
    sa.ForeignKeyConstraint(['vital_event_id'], ['vital_event.id'], name=op.f('fk_life_event_vital_event_id_vital_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_life_event')),
    sa.UniqueConstraint('key', name=op.f('uq_life_event_key'))
    )
    op.create_index(op.f('ix_life_event_service_id_detected_on'), 'life_event', ['service_id', 'detected_on'], unique=False)
    op.create_index(op.f('ix_life_event_person_id'), 'life_event', ['person_id'], unique=False)
    op.create_index(op.f('ix_life_event_household_id'), 'life_event', ['household_id'], unique=False)
    op.create_table('link_review',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('source_record_id', sa.INTEGER(), nullable=True),
    sa.Column('record_ref', sa.BIGINT(), nullable=False),
    sa.Column('person_id', sa.INTEGER(), nullable=False),
    sa.Column('probability', sa.FLOAT(), nullable=False),
    sa.Column('status', sa.VARCHAR(length=10), nullable=False),
    sa.Column('created_at', sa.DATETIME(), nullable=False),
    sa.Column('decided_by', sa.VARCHAR(length=120), nullable=True),
    sa.Column('decided_at', sa.DATETIME(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_link_review_person_id_person')),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_link_review_source_record_id_source_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_review'))
    )
    op.create_index(op.f('ix_link_review_status_probability'), 'link_review', ['status', 'probability'], unique=False)
    op.create_index(op.f('ix_link_review_source_record_id'), 'link_review', ['source_record_id'], unique=False)
    op.create_index(op.f('ix_link_review_record_ref'), 'link_review', ['record_ref'], unique=False)
    op.create_index(op.f('ix_link_review_person_id'), 'link_review', ['person_id'], unique=False)
    op.create_table('household',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('code', sa.VARCHAR(length=40), nullable=False),
    sa.Column('ward_code', sa.INTEGER(), nullable=False),
    sa.Column('area_type', sa.VARCHAR(length=10), nullable=False),
    sa.Column('head_person_id', sa.INTEGER(), nullable=True),
    sa.Column('income_per_person', sa.BIGINT(), nullable=True),
    sa.Column('survey_date', sa.DATE(), nullable=True),
    sa.Column('deprivations', sqlite.JSON(), nullable=True),
    sa.Column('source_record_id', sa.INTEGER(), nullable=True),
    sa.ForeignKeyConstraint(['head_person_id'], ['person.id'], name=op.f('fk_household_head_person_id_person')),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_household_source_record_id_source_record')),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], name=op.f('fk_household_ward_code_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household')),
    sa.UniqueConstraint('code', name=op.f('uq_household_code'))
    )
    op.create_index(op.f('ix_household_ward_code'), 'household', ['ward_code'], unique=False)
    op.create_table('utility_customer',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('utility', sa.VARCHAR(length=12), nullable=False),
    sa.Column('customer_no', sa.VARCHAR(length=40), nullable=False),
    sa.Column('person_id', sa.INTEGER(), nullable=True),
    sa.Column('ward_code', sa.INTEGER(), nullable=True),
    sa.Column('source_record_id', sa.INTEGER(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_utility_customer_person_id_person')),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_utility_customer_source_record_id_source_record')),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], name=op.f('fk_utility_customer_ward_code_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_utility_customer')),
    sa.UniqueConstraint('utility', 'customer_no', name=op.f('uq_utility_customer_utility_customer_no'))
    )
    op.create_index(op.f('ix_utility_customer_person_id'), 'utility_customer', ['person_id'], unique=False)
    op.create_table('person',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('pid', sa.VARCHAR(length=12), nullable=True),
    sa.Column('full_name', sa.VARCHAR(length=120), nullable=False),
    sa.Column('name_key', sa.VARCHAR(length=120), nullable=False),
    sa.Column('birth_date', sa.DATE(), nullable=False),
    sa.Column('sex', sa.VARCHAR(length=1), nullable=False),
    sa.Column('ethnicity', sa.VARCHAR(length=40), nullable=True),
    sa.Column('ward_code', sa.INTEGER(), nullable=True),
    sa.Column('household_id', sa.INTEGER(), nullable=True),
    sa.Column('phone', sa.VARCHAR(length=16), nullable=True),
    sa.Column('email', sa.VARCHAR(length=200), nullable=True),
    sa.Column('zalo_id', sa.VARCHAR(length=64), nullable=True),
    sa.Column('death_date', sa.DATE(), nullable=True),
    sa.Column('source_record_id', sa.INTEGER(), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_person_household_id_household')),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_person_source_record_id_source_record'), initially='DEFERRED', deferrable=True),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], name=op.f('fk_person_ward_code_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('pid', name=op.f('uq_person_pid'))
    )
    op.create_index(op.f('ix_person_ward_code'), 'person', ['ward_code'], unique=False)
    op.create_index(op.f('ix_person_name_key'), 'person', ['name_key'], unique=False)
    op.create_index(op.f('ix_person_household_id'), 'person', ['household_id'], unique=False)
    op.create_index(op.f('ix_person_birth_date'), 'person', ['birth_date'], unique=False)
    op.create_table('source_record',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('feed', sa.VARCHAR(length=30), nullable=False),
    sa.Column('agency_code', sa.VARCHAR(length=40), nullable=False),
    sa.Column('source_key', sa.VARCHAR(length=120), nullable=False),
    sa.Column('received_at', sa.DATETIME(), nullable=False),
    sa.Column('content_hash', sa.VARCHAR(length=64), nullable=False),
    sa.Column('raw', sa.TEXT(), nullable=False),
    sa.Column('normalised', sqlite.JSON(), nullable=False),
    sa.Column('person_id', sa.INTEGER(), nullable=True),
    sa.Column('link_method', sa.VARCHAR(length=20), nullable=True),
    sa.Column('link_probability', sa.FLOAT(), nullable=True),
    sa.Column('run_id', sa.INTEGER(), nullable=True),
    sa.ForeignKeyConstraint(['agency_code'], ['agency.code'], name=op.f('fk_source_record_agency_code_agency')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_source_record_person_id_person')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_run.id'], name=op.f('fk_source_record_run_id_ingest_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_record')),
    sa.UniqueConstraint('feed', 'agency_code', 'source_key', name=op.f('uq_source_record_feed_agency_code_source_key'))
    )
    op.create_index(op.f('ix_source_record_run_id'), 'source_record', ['run_id'], unique=False)
    op.create_index(op.f('ix_source_record_person_id'), 'source_record', ['person_id'], unique=False)
    op.create_table('web_session',
    sa.Column('id', sa.VARCHAR(length=64), nullable=False),
    sa.Column('principal_kind', sa.VARCHAR(length=10), nullable=False),
    sa.Column('principal_id', sa.BIGINT(), nullable=False),
    sa.Column('csrf_token', sa.VARCHAR(length=64), nullable=False),
    sa.Column('created_at', sa.DATETIME(), nullable=False),
    sa.Column('expires_at', sa.DATETIME(), nullable=False),
    sa.Column('revoked', sa.BOOLEAN(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_session'))
    )
    op.create_index(op.f('ix_web_session_principal_id'), 'web_session', ['principal_id'], unique=False)
    op.create_table('school',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('code', sa.VARCHAR(length=40), nullable=False),
    sa.Column('name', sa.VARCHAR(length=200), nullable=False),
    sa.Column('level', sa.VARCHAR(length=10), nullable=False),
    sa.Column('ward_code', sa.INTEGER(), nullable=False),
    sa.Column('catchment', sqlite.JSON(), nullable=False),
    sa.Column('source_record_id', sa.INTEGER(), nullable=True),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_school_source_record_id_source_record')),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], name=op.f('fk_school_ward_code_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school')),
    sa.UniqueConstraint('code', name=op.f('uq_school_code'))
    )
    op.create_table('calendar_override',
    sa.Column('day', sa.DATE(), nullable=False),
    sa.Column('kind', sa.VARCHAR(length=8), nullable=False),
    sa.Column('reason', sa.VARCHAR(length=300), nullable=False),
    sa.Column('legal_reference', sa.VARCHAR(length=200), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_override'))
    )
    op.create_table('audit_entry',
    sa.Column('seq', sa.INTEGER(), nullable=False),
    sa.Column('at', sa.DATETIME(), nullable=False),
    sa.Column('actor', sa.VARCHAR(length=120), nullable=False),
    sa.Column('action', sa.VARCHAR(length=80), nullable=False),
    sa.Column('subject_kind', sa.VARCHAR(length=40), nullable=False),
    sa.Column('subject_id', sa.VARCHAR(length=120), nullable=False),
    sa.Column('purpose', sa.VARCHAR(length=300), nullable=False),
    sa.Column('details', sqlite.JSON(), nullable=False),
    sa.Column('prev_hash', sa.VARCHAR(length=64), nullable=False),
    sa.Column('hash', sa.VARCHAR(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_entry')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_entry_hash')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_audit_entry_prev_hash'))
    )
    op.create_index(op.f('ix_audit_entry_subject'), 'audit_entry', ['subject_kind', 'subject_id'], unique=False)
    op.create_index(op.f('ix_audit_entry_action'), 'audit_entry', ['action'], unique=False)
    op.create_table('one_time_code',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('person_id', sa.INTEGER(), nullable=False),
    sa.Column('code_hash', sa.VARCHAR(length=64), nullable=False),
    sa.Column('created_at', sa.DATETIME(), nullable=False),
    sa.Column('expires_at', sa.DATETIME(), nullable=False),
    sa.Column('attempts', sa.INTEGER(), nullable=False),
    sa.Column('used', sa.BOOLEAN(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_one_time_code_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_one_time_code'))
    )
    op.create_index(op.f('ix_one_time_code_person_id'), 'one_time_code', ['person_id'], unique=False)
    op.create_table('building_plan',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('person_id', sa.INTEGER(), nullable=True),
    sa.Column('parcel', sa.VARCHAR(length=60), nullable=False),
    sa.Column('ward_code', sa.INTEGER(), nullable=False),
    sa.Column('declared_on', sa.DATE(), nullable=False),
    sa.Column('details', sqlite.JSON(), nullable=False),
    sa.Column('source_record_id', sa.INTEGER(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_building_plan_person_id_person')),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_building_plan_source_record_id_source_record')),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], name=op.f('fk_building_plan_ward_code_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_building_plan')),
    sa.UniqueConstraint('source_record_id', name=op.f('uq_building_plan_source_record_id'))
    )
    op.create_index(op.f('ix_building_plan_person_id'), 'building_plan', ['person_id'], unique=False)
    op.create_table('ingest_rejection',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('run_id', sa.INTEGER(), nullable=False),
    sa.Column('line', sa.INTEGER(), nullable=True),
    sa.Column('source_key', sa.VARCHAR(length=120), nullable=True),
    sa.Column('field', sa.VARCHAR(length=60), nullable=False),
    sa.Column('reason', sa.TEXT(), nullable=False),
    sa.Column('record', sa.TEXT(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_run.id'], name=op.f('fk_ingest_rejection_run_id_ingest_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_rejection'))
    )
    op.create_index(op.f('ix_ingest_rejection_run_id'), 'ingest_rejection', ['run_id'], unique=False)
    op.create_table('agency',
    sa.Column('code', sa.VARCHAR(length=40), nullable=False),
    sa.Column('name', sa.VARCHAR(length=200), nullable=False),
    sa.Column('kind', sa.VARCHAR(length=30), nullable=False),
    sa.Column('api_key_hash', sa.VARCHAR(length=128), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_agency'))
    )
    op.create_table('legacy_ward',
    sa.Column('code', sa.INTEGER(), nullable=False),
    sa.Column('name', sa.VARCHAR(length=100), nullable=False),
    sa.Column('district_code', sa.INTEGER(), nullable=False),
    sa.Column('district_name', sa.VARCHAR(length=100), nullable=False),
    sa.Column('province_code', sa.INTEGER(), nullable=False),
    sa.Column('province_name', sa.VARCHAR(length=100), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_legacy_ward'))
    )
    op.create_index(op.f('ix_legacy_ward_province_code'), 'legacy_ward', ['province_code'], unique=False)
    op.create_index(op.f('ix_legacy_ward_district_code'), 'legacy_ward', ['district_code'], unique=False)
    op.create_table('vital_event',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('kind', sa.VARCHAR(length=8), nullable=False),
    sa.Column('source_record_id', sa.INTEGER(), nullable=False),
    sa.Column('subject_person_id', sa.INTEGER(), nullable=True),
    sa.Column('mother_person_id', sa.INTEGER(), nullable=True),
    sa.Column('event_date', sa.DATE(), nullable=False),
    sa.Column('details', sqlite.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['mother_person_id'], ['person.id'], name=op.f('fk_vital_event_mother_person_id_person')),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_vital_event_source_record_id_source_record')),
    sa.ForeignKeyConstraint(['subject_person_id'], ['person.id'], name=op.f('fk_vital_event_subject_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vital_event')),
    sa.UniqueConstraint('source_record_id', name=op.f('uq_vital_event_source_record_id'))
    )
    op.create_index(op.f('ix_vital_event_mother_person_id'), 'vital_event', ['mother_person_id'], unique=False)
    op.create_index(op.f('ix_vital_event_event_date'), 'vital_event', ['event_date'], unique=False)
    op.create_table('reference_data',
    sa.Column('name', sa.VARCHAR(length=60), nullable=False),
    sa.Column('version', sa.VARCHAR(length=60), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_reference_data'))
    )
    op.create_table('ward',
    sa.Column('code', sa.INTEGER(), nullable=False),
    sa.Column('name', sa.VARCHAR(length=100), nullable=False),
    sa.Column('division_type', sa.VARCHAR(length=20), nullable=False),
    sa.Column('province_code', sa.INTEGER(), nullable=False),
    sa.Column('area_class', sa.VARCHAR(length=16), nullable=False),
    sa.ForeignKeyConstraint(['province_code'], ['province.code'], name=op.f('fk_ward_province_code_province')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_ward'))
    )
    op.create_index(op.f('ix_ward_province_code'), 'ward', ['province_code'], unique=False)
    op.create_table('quality_issue',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('kind', sa.VARCHAR(length=20), nullable=False),
    sa.Column('person_id', sa.INTEGER(), nullable=True),
    sa.Column('field', sa.VARCHAR(length=40), nullable=False),
    sa.Column('value_a', sa.TEXT(), nullable=True),
    sa.Column('source_a', sa.INTEGER(), nullable=True),
    sa.Column('value_b', sa.TEXT(), nullable=True),
    sa.Column('source_b', sa.INTEGER(), nullable=True),
    sa.Column('agency_code', sa.VARCHAR(length=40), nullable=True),
    sa.Column('status', sa.VARCHAR(length=12), nullable=False),
    sa.Column('detail', sa.TEXT(), nullable=False),
    sa.Column('created_at', sa.DATETIME(), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agency.code'], name=op.f('fk_quality_issue_agency_code_agency')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_quality_issue_person_id_person')),
    sa.ForeignKeyConstraint(['source_a'], ['source_record.id'], name=op.f('fk_quality_issue_source_a_source_record')),
    sa.ForeignKeyConstraint(['source_b'], ['source_record.id'], name=op.f('fk_quality_issue_source_b_source_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_issue'))
    )
    op.create_index(op.f('ix_quality_issue_status_kind'), 'quality_issue', ['status', 'kind'], unique=False)
    op.create_index(op.f('ix_quality_issue_person_id'), 'quality_issue', ['person_id'], unique=False)
    op.create_index(op.f('ix_quality_issue_agency_code'), 'quality_issue', ['agency_code'], unique=False)
    op.create_table('ward_mapping',
    sa.Column('legacy_code', sa.INTEGER(), nullable=False),
    sa.Column('new_code', sa.INTEGER(), nullable=False),
    sa.Column('partly_merged', sa.BOOLEAN(), nullable=False),
    sa.Column('is_primary', sa.BOOLEAN(), nullable=False),
    sa.ForeignKeyConstraint(['legacy_code'], ['legacy_ward.code'], name=op.f('fk_ward_mapping_legacy_code_legacy_ward')),
    sa.ForeignKeyConstraint(['new_code'], ['ward.code'], name=op.f('fk_ward_mapping_new_code_ward')),
    sa.PrimaryKeyConstraint('legacy_code', 'new_code', name=op.f('pk_ward_mapping'))
    )
    op.drop_index(op.f('ix_notification_event_notification_id'), table_name='notification_event')
    op.drop_table('notification_event')
    op.drop_index(op.f('ix_inbox_message_person_id'), table_name='inbox_message')
    op.drop_table('inbox_message')
    op.drop_index('ix_delivery_receipt_provider_message', table_name='delivery_receipt')
    op.drop_index(op.f('ix_delivery_receipt_notification_id'), table_name='delivery_receipt')
    op.drop_table('delivery_receipt')
    op.drop_index('ix_notification_status_due_at', table_name='notification')
    op.drop_index('ix_notification_provider_message', table_name='notification')
    op.drop_index(op.f('ix_notification_person_id'), table_name='notification')
    op.drop_table('notification')
    op.drop_table('contact_preference')
