"""registry: agencies, source records, person index, agency data, quality issues, ingest runs

Revision ID: 20261121_0002
Revises: 20261121_0001
Create Date: 2026-11-22 00:02:54.340892
"""

from alembic import op
import sqlalchemy as sa
import chudong.db


revision = '20261121_0002'
down_revision = '20261121_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # person, household and source_record refer to each other: SQLite takes the foreign
    # keys inline (it checks them only on write); PostgreSQL gets them once all exist.
    sqlite = op.get_bind().dialect.name == "sqlite"

    def later(fk: sa.ForeignKeyConstraint) -> list[sa.ForeignKeyConstraint]:
        return [fk] if sqlite else []

    op.create_table('agency',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('api_key_hash', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_agency'))
    )
    op.create_table('ingest_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('feed', sa.String(length=30), nullable=False),
    sa.Column('agency_code', sa.String(length=40), nullable=False),
    sa.Column('file_name', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('file_error', sa.Text(), nullable=True),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('started_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', chudong.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_code'], ['agency.code'], name=op.f('fk_ingest_run_agency_code_agency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_run'))
    )
    with op.batch_alter_table('ingest_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_run_agency_code'), ['agency_code'], unique=False)

    op.create_table('household',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('ward_code', sa.Integer(), nullable=False),
    sa.Column('area_type', sa.String(length=10), nullable=False),
    sa.Column('head_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('income_per_person', sa.BigInteger(), nullable=True),
    sa.Column('survey_date', sa.Date(), nullable=True),
    sa.Column('deprivations', sa.JSON(), nullable=True),
    sa.Column('source_record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    *later(sa.ForeignKeyConstraint(['head_person_id'], ['person.id'], name=op.f('fk_household_head_person_id_person'))),
    *later(sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_household_source_record_id_source_record'))),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], name=op.f('fk_household_ward_code_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household')),
    sa.UniqueConstraint('code', name=op.f('uq_household_code'))
    )
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_household_ward_code'), ['ward_code'], unique=False)

    op.create_table('person',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('pid', sa.String(length=12), nullable=True),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('name_key', sa.String(length=120), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('ethnicity', sa.String(length=40), nullable=True),
    sa.Column('ward_code', sa.Integer(), nullable=True),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('phone', sa.String(length=16), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('zalo_id', sa.String(length=64), nullable=True),
    sa.Column('death_date', sa.Date(), nullable=True),
    sa.Column('source_record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_person_household_id_household')),
    *later(sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_person_source_record_id_source_record'), initially='DEFERRED', deferrable=True)),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], name=op.f('fk_person_ward_code_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('pid', name=op.f('uq_person_pid'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_birth_date'), ['birth_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_ward_code'), ['ward_code'], unique=False)

    op.create_table('source_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('feed', sa.String(length=30), nullable=False),
    sa.Column('agency_code', sa.String(length=40), nullable=False),
    sa.Column('source_key', sa.String(length=120), nullable=False),
    sa.Column('received_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('normalised', sa.JSON(), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('link_method', sa.String(length=20), nullable=True),
    sa.Column('link_probability', sa.Float(), nullable=True),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['agency_code'], ['agency.code'], name=op.f('fk_source_record_agency_code_agency')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_source_record_person_id_person')),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_run.id'], name=op.f('fk_source_record_run_id_ingest_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_record')),
    sa.UniqueConstraint('feed', 'agency_code', 'source_key', name=op.f('uq_source_record_feed_agency_code_source_key'))
    )
    with op.batch_alter_table('source_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_record_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_source_record_run_id'), ['run_id'], unique=False)

    op.create_table('licence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('licence_class', sa.String(length=10), nullable=True),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('holder_pid', sa.String(length=12), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('issuing_agency', sa.String(length=120), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.Column('source_record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_licence_person_id_person')),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_licence_source_record_id_source_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licence')),
    sa.UniqueConstraint('kind', 'number', name=op.f('uq_licence_kind_number'))
    )
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_expires_on'), ['expires_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_licence_person_id'), ['person_id'], unique=False)

    op.create_table('school',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('ward_code', sa.Integer(), nullable=False),
    sa.Column('catchment', sa.JSON(), nullable=False),
    sa.Column('source_record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_school_source_record_id_source_record')),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], name=op.f('fk_school_ward_code_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school')),
    sa.UniqueConstraint('code', name=op.f('uq_school_code'))
    )
    op.create_table('utility_customer',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('utility', sa.String(length=12), nullable=False),
    sa.Column('customer_no', sa.String(length=40), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('ward_code', sa.Integer(), nullable=True),
    sa.Column('source_record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_utility_customer_person_id_person')),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_utility_customer_source_record_id_source_record')),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], name=op.f('fk_utility_customer_ward_code_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_utility_customer')),
    sa.UniqueConstraint('utility', 'customer_no', name=op.f('uq_utility_customer_utility_customer_no'))
    )
    with op.batch_alter_table('utility_customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_utility_customer_person_id'), ['person_id'], unique=False)

    op.create_table('vital_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('source_record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('mother_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['mother_person_id'], ['person.id'], name=op.f('fk_vital_event_mother_person_id_person')),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_vital_event_source_record_id_source_record')),
    sa.ForeignKeyConstraint(['subject_person_id'], ['person.id'], name=op.f('fk_vital_event_subject_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vital_event')),
    sa.UniqueConstraint('source_record_id', name=op.f('uq_vital_event_source_record_id'))
    )
    with op.batch_alter_table('vital_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vital_event_event_date'), ['event_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_vital_event_mother_person_id'), ['mother_person_id'], unique=False)

    op.create_table('building_plan',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('parcel', sa.String(length=60), nullable=False),
    sa.Column('ward_code', sa.Integer(), nullable=False),
    sa.Column('declared_on', sa.Date(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('source_record_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_building_plan_person_id_person')),
    sa.ForeignKeyConstraint(['source_record_id'], ['source_record.id'], name=op.f('fk_building_plan_source_record_id_source_record')),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], name=op.f('fk_building_plan_ward_code_ward')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_building_plan')),
    sa.UniqueConstraint('source_record_id', name=op.f('uq_building_plan_source_record_id'))
    )
    with op.batch_alter_table('building_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_building_plan_person_id'), ['person_id'], unique=False)

    op.create_table('quality_issue',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('value_a', sa.Text(), nullable=True),
    sa.Column('source_a', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('value_b', sa.Text(), nullable=True),
    sa.Column('source_b', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('agency_code', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', chudong.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agency.code'], name=op.f('fk_quality_issue_agency_code_agency')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_quality_issue_person_id_person')),
    sa.ForeignKeyConstraint(['source_a'], ['source_record.id'], name=op.f('fk_quality_issue_source_a_source_record')),
    sa.ForeignKeyConstraint(['source_b'], ['source_record.id'], name=op.f('fk_quality_issue_source_b_source_record')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_issue'))
    )
    with op.batch_alter_table('quality_issue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quality_issue_agency_code'), ['agency_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_quality_issue_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_quality_issue_status_kind', ['status', 'kind'], unique=False)

    op.create_table('ingest_rejection',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.Column('source_key', sa.String(length=120), nullable=True),
    sa.Column('field', sa.String(length=60), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('record', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['ingest_run.id'], name=op.f('fk_ingest_rejection_run_id_ingest_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_rejection'))
    )
    with op.batch_alter_table('ingest_rejection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_rejection_run_id'), ['run_id'], unique=False)

    if not sqlite:
        op.create_foreign_key(op.f('fk_household_head_person_id_person'), 'household', 'person', ['head_person_id'], ['id'])
        op.create_foreign_key(op.f('fk_household_source_record_id_source_record'), 'household', 'source_record', ['source_record_id'], ['id'])
        op.create_foreign_key(op.f('fk_person_source_record_id_source_record'), 'person', 'source_record', ['source_record_id'], ['id'],
                              deferrable=True, initially='DEFERRED')


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f('fk_person_source_record_id_source_record'), 'person', type_='foreignkey')
        op.drop_constraint(op.f('fk_household_head_person_id_person'), 'household', type_='foreignkey')
        op.drop_constraint(op.f('fk_household_source_record_id_source_record'), 'household', type_='foreignkey')
    for table in ('ingest_rejection', 'building_plan', 'vital_event', 'quality_issue', 'licence', 'school',
                  'utility_customer', 'source_record', 'person', 'household', 'ingest_run', 'agency'):
        op.drop_table(table)
