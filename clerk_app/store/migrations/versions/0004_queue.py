"""queue: categories, window categories, tickets, ticket history, counters, requests, window states

Revision ID: 0004_queue
Revises: 0001
Create Date: 2026-11-28 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_queue"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("queue",)
depends_on: str | Sequence[str] | None = None


#: PostgreSQL tells the hall displays of every change they show (LISTEN queue_board); the
#: notification is sent when the transaction commits, never for a rolled-back call.
NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION queue_board_notify() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state
       OR NEW.called_at IS DISTINCT FROM OLD.called_at THEN
        PERFORM pg_notify('queue_board', json_build_object(
            'number', NEW.number, 'state', NEW.state, 'window', NEW.window_number,
            'recall', NEW.recall_count)::text);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER queue_tickets_board_notify AFTER INSERT OR UPDATE ON queue_tickets
FOR EACH ROW EXECUTE FUNCTION queue_board_notify()
"""


def upgrade() -> None:
    op.create_table('queue_categories',
    sa.Column('code', sa.String(length=4), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('mean_service_minutes', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('hlc', sa.String(length=96), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_categories')),
    sa.UniqueConstraint('code', name=op.f('uq_queue_categories_code'))
    )
    op.create_table('queue_counters',
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('service_day', 'prefix', name=op.f('pk_queue_counters'))
    )
    op.create_table('queue_requests',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('window_number', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_queue_requests'))
    )
    op.create_table('queue_tickets',
    sa.Column('service_day', sa.Date(), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=4), nullable=False),
    sa.Column('priority', sa.Boolean(), nullable=False),
    sa.Column('priority_kind', sa.String(length=16), nullable=False),
    sa.Column('appointment_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('case_ref', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('window_number', sa.Integer(), nullable=True),
    sa.Column('clerk_id', sa.Uuid(), nullable=True),
    sa.Column('routed_window', sa.Integer(), nullable=True),
    sa.Column('routed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_window', sa.Integer(), nullable=True),
    sa.Column('recall_count', sa.Integer(), nullable=False),
    sa.Column('call_reason', sa.String(length=24), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('offline', sa.Boolean(), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('hlc', sa.String(length=96), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_tickets'))
    )
    op.create_index('ix_queue_tickets_waiting', 'queue_tickets', ['state', 'category', 'issued_at'], unique=False)
    op.create_index('uq_queue_tickets_active_window', 'queue_tickets', ['window_number', 'offline'], unique=True, postgresql_where=sa.text("state IN ('called', 'serving') AND window_number IS NOT NULL"), sqlite_where=sa.text("state IN ('called', 'serving') AND window_number IS NOT NULL"))
    op.create_index('uq_queue_tickets_day_number', 'queue_tickets', ['service_day', 'number'], unique=True)
    op.create_table('queue_window_categories',
    sa.Column('window_number', sa.Integer(), nullable=False),
    sa.Column('category_code', sa.String(length=4), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('hlc', sa.String(length=96), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_window_categories'))
    )
    op.create_index('uq_queue_window_categories_pair', 'queue_window_categories', ['window_number', 'category_code'], unique=True)
    op.create_table('queue_window_states',
    sa.Column('window_number', sa.Integer(), nullable=False),
    sa.Column('clerk_id', sa.Uuid(), nullable=True),
    sa.Column('clerk_name', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('pause_reason', sa.String(length=32), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('normal_streak', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('window_number', name=op.f('pk_queue_window_states'))
    )
    op.create_table('queue_ticket_events',
    sa.Column('ticket_id', sa.Uuid(), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=False),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('window_number', sa.Integer(), nullable=True),
    sa.Column('clerk_id', sa.Uuid(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('hlc', sa.String(length=96), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['queue_tickets.id'], name=op.f('fk_queue_ticket_events_ticket_id_queue_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_ticket_events'))
    )
    op.create_index(op.f('ix_queue_ticket_events_at'), 'queue_ticket_events', ['at'], unique=False)
    op.create_index(op.f('ix_queue_ticket_events_ticket_id'), 'queue_ticket_events', ['ticket_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS queue_tickets_board_notify ON queue_tickets")
        op.execute("DROP FUNCTION IF EXISTS queue_board_notify()")
    op.drop_index(op.f('ix_queue_ticket_events_ticket_id'), table_name='queue_ticket_events')
    op.drop_index(op.f('ix_queue_ticket_events_at'), table_name='queue_ticket_events')
    op.drop_table('queue_ticket_events')
    op.drop_table('queue_window_states')
    op.drop_index('uq_queue_window_categories_pair', table_name='queue_window_categories')
    op.drop_table('queue_window_categories')
    op.drop_index('uq_queue_tickets_day_number', table_name='queue_tickets')
    op.drop_index('uq_queue_tickets_active_window', table_name='queue_tickets', postgresql_where=sa.text("state IN ('called', 'serving') AND window_number IS NOT NULL"), sqlite_where=sa.text("state IN ('called', 'serving') AND window_number IS NOT NULL"))
    op.drop_index('ix_queue_tickets_waiting', table_name='queue_tickets')
    op.drop_table('queue_tickets')
    op.drop_table('queue_requests')
    op.drop_table('queue_counters')
    op.drop_table('queue_categories')
