"""cases: applicants, cases, case materials, case events, intake drafts, case counters

Revision ID: 0006_cases
Revises: 0001
Create Date: 2026-11-28 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_cases"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("cases",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('case_applicants',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('id_type', sa.String(length=8), nullable=False),
    sa.Column('id_number', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('legal_representative', sa.String(length=100), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('hlc', sa.String(length=96), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_applicants'))
    )
    op.create_index('ix_case_applicants_identity', 'case_applicants', ['id_type', 'id_number'], unique=False)
    op.create_table('case_counters',
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('window_number', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('service_day', 'window_number', name=op.f('pk_case_counters'))
    )
    op.create_table('intake_drafts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('clerk_id', sa.Uuid(), nullable=False),
    sa.Column('window_number', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_drafts'))
    )
    op.create_index(op.f('ix_intake_drafts_clerk_id'), 'intake_drafts', ['clerk_id'], unique=False)
    op.create_table('cases',
    sa.Column('case_number', sa.String(length=40), nullable=False),
    sa.Column('applicant_id', sa.Uuid(), nullable=False),
    sa.Column('matter_codes', sa.JSON(), nullable=False),
    sa.Column('bundle_code', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('promised_due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('promised_date', sa.Date(), nullable=True),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clerk_id', sa.Uuid(), nullable=False),
    sa.Column('clerk_name', sa.String(length=100), nullable=False),
    sa.Column('window_number', sa.Integer(), nullable=True),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('delivery_address', sa.String(length=300), nullable=False),
    sa.Column('agent_name', sa.String(length=100), nullable=False),
    sa.Column('agent_id_type', sa.String(length=8), nullable=False),
    sa.Column('agent_id_number', sa.String(length=64), nullable=False),
    sa.Column('agent_phone', sa.String(length=32), nullable=False),
    sa.Column('cross_region', sa.Boolean(), nullable=False),
    sa.Column('other_region', sa.String(length=100), nullable=False),
    sa.Column('ticket_number', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('legal_basis', sa.String(length=500), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('hlc', sa.String(length=96), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['applicant_id'], ['case_applicants.id'], name=op.f('fk_cases_applicant_id_case_applicants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('case_number', name=op.f('uq_cases_case_number'))
    )
    op.create_index(op.f('ix_cases_applicant_id'), 'cases', ['applicant_id'], unique=False)
    op.create_index('ix_cases_status_due', 'cases', ['status', 'promised_due'], unique=False)
    op.create_table('case_events',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('event', sa.String(length=24), nullable=False),
    sa.Column('from_state', sa.String(length=24), nullable=False),
    sa.Column('to_state', sa.String(length=24), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=False),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('window_number', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=2000), nullable=False),
    sa.Column('legal_basis', sa.String(length=500), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('hlc', sa.String(length=96), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    op.create_index(op.f('ix_case_events_case_id'), 'case_events', ['case_id'], unique=False)
    op.create_table('case_materials',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('material_key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('form', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('hlc', sa.String(length=96), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_materials_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_materials'))
    )
    op.create_index(op.f('ix_case_materials_case_id'), 'case_materials', ['case_id'], unique=False)
    op.create_index('uq_case_materials_case_key', 'case_materials', ['case_id', 'material_key'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_case_materials_case_key', table_name='case_materials')
    op.drop_index(op.f('ix_case_materials_case_id'), table_name='case_materials')
    op.drop_table('case_materials')
    op.drop_index(op.f('ix_case_events_case_id'), table_name='case_events')
    op.drop_table('case_events')
    op.drop_index('ix_cases_status_due', table_name='cases')
    op.drop_index(op.f('ix_cases_applicant_id'), table_name='cases')
    op.drop_table('cases')
    op.drop_index(op.f('ix_intake_drafts_clerk_id'), table_name='intake_drafts')
    op.drop_table('intake_drafts')
    op.drop_table('case_counters')
    op.drop_index('ix_case_applicants_identity', table_name='case_applicants')
    op.drop_table('case_applicants')
