"""queue: call next in one round trip (PostgreSQL function queue_claim_next)

On PostgreSQL a "call next" press is one statement: ``SELECT … FROM queue_claim_next(…)`` run
in autocommit. The function does in one call what the service's unit of work did in about nine
round trips:

1. locks the window's state row (presses of one window run one after the other);
2. a key already recorded returns the ticket it acted on (a retry after a lost reply);
3. refuses a paused window (nothing written);
4. ranks the window's waiting tickets by the rules of ``clerk_app.domain.queue_order`` (routed to
   this window, due appointments, wait-time promotion, the priority interleave, early
   appointments; oldest first) and claims the first of the top 64 that no other window holds, in
   one ``UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1)``;
5. writes the call's history row, the window's interleave streak and status, the press key, and
   the two central change-log entries (ticket update, history insert) numbered under the
   ``sync_counter`` row lock, as the unit of work does on a central store.

The domain module stays the reference: tests/queue/test_queue_claim_sql.py checks that this
ranking and ``queue_order.rank`` agree on generated queues. On SQLite this revision does nothing:
the central store's write lock serialises the service's own read-rank-claim.

Revision ID: 0012_queue_claim_fn
Revises: 0004_queue
Create Date: 2026-11-28 03:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_queue_claim_fn"
down_revision: str | Sequence[str] | None = "0004_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: every waiting ticket ``p_window`` may call, in the order of ``queue_order.rank``; ``pos`` is
#: the 1-based rank, ``reason`` the CallReason value. Separate from the claim so that tests can
#: compare it with the domain ordering.
RANK_FUNCTION = """
CREATE OR REPLACE FUNCTION queue_rank_waiting(
    p_window integer, p_categories text[], p_day date, p_now timestamptz,
    p_normal_per_priority integer, p_wait_target interval, p_early interval,
    p_serve_early boolean, p_streak integer, p_top integer DEFAULT NULL)
RETURNS TABLE (pos bigint, id uuid, reason text, priority boolean)
LANGUAGE sql STABLE AS $$
-- With p_top, only the first p_top places are wanted: each source list (routed here,
-- appointments, priority walk-ins, normal walk-ins) is cut to its first p_top in its own order,
-- which cannot change those places (overdue walk-ins are the oldest of their class; when fewer
-- than p_top are overdue every overdue one is kept, so the interleave streak is exact).
WITH waiting AS (
    SELECT t.id, t.issued_at, t.priority, t.appointment_at, t.routed_at, t.routed_window, t.category
    FROM queue_tickets t
    WHERE t.service_day = p_day AND t.state IN ('issued', 'transferred') AND NOT t.offline
      AND NOT t.deleted
      AND (t.routed_window = p_window
           OR (t.routed_window IS NULL AND t.category = ANY (p_categories)))
),
candidates AS (
    (SELECT w.* FROM waiting w WHERE w.routed_window = p_window
     ORDER BY coalesce(w.routed_at, w.issued_at), w.issued_at, w.id LIMIT p_top)
    UNION ALL
    (SELECT w.* FROM waiting w WHERE w.routed_window IS NULL AND w.appointment_at IS NOT NULL
     ORDER BY w.appointment_at, w.issued_at, w.id LIMIT p_top)
    UNION ALL
    (SELECT w.* FROM waiting w
     WHERE w.routed_window IS NULL AND w.appointment_at IS NULL AND w.priority
     ORDER BY w.issued_at, w.id LIMIT p_top)
    UNION ALL
    (SELECT w.* FROM waiting w
     WHERE w.routed_window IS NULL AND w.appointment_at IS NULL AND NOT w.priority
     ORDER BY w.issued_at, w.id LIMIT p_top)
),
pool AS (
    SELECT c.id, c.issued_at, c.priority, c.appointment_at, c.routed_at,
           CASE
               WHEN c.routed_window = p_window THEN 1
               WHEN c.appointment_at IS NOT NULL AND c.appointment_at - p_early <= p_now THEN 2
               WHEN c.appointment_at IS NOT NULL THEN 5
               WHEN p_wait_target IS NOT NULL AND p_now - c.issued_at > p_wait_target THEN 3
               ELSE 4
           END AS seg
    FROM candidates c
),
streak AS (
    -- the interleave state after the overdue tickets, oldest first: a priority one resets it to 0,
    -- a normal one adds 1; so the normal ones after the last priority one, or all of them added
    SELECT CASE WHEN bool_or(o.priority)
                THEN count(*) FILTER (WHERE NOT o.priority AND (o.issued_at, o.id) > (
                         SELECT q.issued_at, q.id FROM pool q WHERE q.seg = 3 AND q.priority
                         ORDER BY q.issued_at DESC, q.id DESC LIMIT 1))
                ELSE p_streak + count(*) END AS s
    FROM pool o WHERE o.seg = 3
),
numbered AS (
    -- k: the ticket's place among the fresh walk-ins of its class (priority or normal), from 0
    SELECT p.*,
           row_number() OVER (PARTITION BY p.seg = 4, p.priority ORDER BY p.issued_at, p.id) - 1 AS k
    FROM pool p
    WHERE p.seg <> 5 OR p_serve_early
)
-- the interleave: a normal walk-in k comes after k normal calls; the priority one k after
-- max(0, ratio - streak) + k * ratio normal calls, ahead of the normal one at that count
SELECT row_number() OVER (
           ORDER BY n.seg,
                    CASE n.seg WHEN 1 THEN coalesce(n.routed_at, n.issued_at)
                               WHEN 2 THEN n.appointment_at
                               WHEN 5 THEN n.appointment_at END,
                    CASE WHEN n.seg <> 4 THEN 0
                         WHEN n.priority THEN greatest(0, p_normal_per_priority - (SELECT s FROM streak))
                                              + n.k * p_normal_per_priority
                         ELSE n.k END,
                    CASE WHEN n.seg = 4 AND NOT n.priority THEN 1 ELSE 0 END,
                    n.issued_at, n.id) AS pos,
       n.id,
       CASE n.seg WHEN 1 THEN 'routed' WHEN 2 THEN 'appointment' WHEN 3 THEN 'overdue'
                  WHEN 5 THEN 'early_appointment'
                  ELSE CASE WHEN n.priority THEN 'priority' ELSE 'normal' END END AS reason,
       n.priority
FROM numbered n
ORDER BY pos
LIMIT p_top
$$
"""

CLAIM_FUNCTION = """
CREATE OR REPLACE FUNCTION queue_claim_next(
    p_key text, p_window integer, p_clerk uuid, p_clerk_name text, p_now timestamptz,
    p_day date, p_device text, p_ticket_hlc text, p_event_hlc text, p_event_id uuid,
    p_called_state text, p_defaults json)
RETURNS TABLE (outcome text, ticket queue_tickets)
LANGUAGE plpgsql
SET TimeZone = 'UTC'
-- the statements' plans are made once per connection, not re-planned for the first presses
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_state queue_window_states%ROWTYPE;
    v_req queue_requests%ROWTYPE;
    v_policy json;
    v_npp integer;
    v_wait integer;
    v_early integer;
    v_cats text[];
    v_ids uuid[];
    v_reasons text[];
    v_prio boolean[];
    v_id uuid;
    v_before text;
    v_at integer;
    v_ticket queue_tickets%ROWTYPE;
    v_event queue_ticket_events%ROWTYPE;
    v_seq bigint;
BEGIN
    INSERT INTO queue_window_states (window_number, clerk_id, clerk_name, status, pause_reason,
                                     since, normal_streak)
    VALUES (p_window, NULL, '', 'closed', '', p_now, 0)
    ON CONFLICT (window_number) DO NOTHING;
    SELECT * INTO v_state FROM queue_window_states s WHERE s.window_number = p_window FOR UPDATE;

    SELECT * INTO v_req FROM queue_requests r WHERE r.key = p_key;
    IF FOUND THEN
        IF v_req.action <> 'call_next' OR v_req.window_number IS DISTINCT FROM p_window THEN
            RETURN QUERY SELECT 'key_mismatch'::text, NULL::queue_tickets;
            RETURN;
        END IF;
        IF v_req.ticket_id IS NULL THEN
            RETURN QUERY SELECT 'replayed'::text, NULL::queue_tickets;
        ELSE
            RETURN QUERY SELECT 'replayed'::text, t FROM queue_tickets t WHERE t.id = v_req.ticket_id;
        END IF;
        RETURN;
    END IF;

    IF v_state.status = 'paused' THEN
        RETURN QUERY SELECT 'paused'::text, NULL::queue_tickets;
        RETURN;
    END IF;

    SELECT s.value INTO v_policy FROM settings s WHERE s.key = 'queue.policy' AND NOT s.deleted;
    v_npp := coalesce((v_policy ->> 'normal_per_priority')::integer,
                      (p_defaults ->> 'normal_per_priority')::integer);
    v_wait := coalesce((v_policy ->> 'wait_target_minutes')::integer,
                       (p_defaults ->> 'wait_target_minutes')::integer);
    v_early := coalesce((v_policy ->> 'appointment_early_minutes')::integer,
                        (p_defaults ->> 'appointment_early_minutes')::integer);
    SELECT coalesce(array_agg(c.category_code), '{}') INTO v_cats
    FROM queue_window_categories c WHERE c.window_number = p_window AND NOT c.deleted;

    SELECT array_agg(r.id ORDER BY r.pos), array_agg(r.reason ORDER BY r.pos),
           array_agg(r.priority ORDER BY r.pos)
    INTO v_ids, v_reasons, v_prio
    FROM (SELECT * FROM queue_rank_waiting(
              p_window, v_cats, p_day, p_now, v_npp,
              CASE WHEN v_wait > 0 THEN make_interval(mins => v_wait) END,
              make_interval(mins => v_early), (p_defaults ->> 'serve_early')::boolean,
              v_state.normal_streak, 64)
          ORDER BY pos) r;

    IF v_ids IS NOT NULL THEN
        UPDATE queue_tickets t
        SET state = p_called_state, window_number = p_window, clerk_id = p_clerk,
            called_at = p_now, recall_count = 0, routed_window = NULL, routed_at = NULL,
            call_reason = v_reasons[array_position(v_ids, t.id)],
            version = t.version + 1, hlc = p_ticket_hlc
        FROM (SELECT w.id, w.state FROM queue_tickets w
              WHERE w.id = ANY (v_ids) AND w.state IN ('issued', 'transferred')
              ORDER BY array_position(v_ids, w.id)
              LIMIT 1
              FOR UPDATE SKIP LOCKED) c
        WHERE t.id = c.id AND t.state IN ('issued', 'transferred')
        RETURNING t.id, c.state INTO v_id, v_before;
    END IF;

    IF v_id IS NULL THEN
        INSERT INTO queue_requests (key, action, window_number, ticket_id, created_at)
        VALUES (p_key, 'call_next', p_window, NULL, p_now);
        RETURN QUERY SELECT 'empty'::text, NULL::queue_tickets;
        RETURN;
    END IF;

    SELECT * INTO v_ticket FROM queue_tickets t WHERE t.id = v_id;
    v_at := array_position(v_ids, v_id);

    INSERT INTO queue_ticket_events (ticket_id, event, from_state, to_state, window_number,
                                     clerk_id, at, reason, detail, id, origin, version, hlc, deleted)
    VALUES (v_id, 'call', v_before, v_ticket.state, p_window, p_clerk, p_now, v_reasons[v_at],
            json_build_object('number', v_ticket.number, 'category', v_ticket.category,
                              'version', v_ticket.version),
            p_event_id, p_device, 1, p_event_hlc, false)
    RETURNING * INTO v_event;

    UPDATE queue_window_states s
    SET normal_streak = CASE WHEN v_prio[v_at] THEN 0
                             WHEN v_reasons[v_at] IN ('normal', 'overdue') THEN s.normal_streak + 1
                             ELSE s.normal_streak END,
        status = CASE WHEN s.status = 'closed' THEN 'open' ELSE s.status END,
        clerk_id = CASE WHEN s.status = 'closed' THEN p_clerk ELSE s.clerk_id END,
        clerk_name = CASE WHEN s.status = 'closed' THEN p_clerk_name ELSE s.clerk_name END
    WHERE s.window_number = p_window;

    INSERT INTO queue_requests (key, action, window_number, ticket_id, created_at)
    VALUES (p_key, 'call_next', p_window, v_id, p_now);

    -- last: the change-log numbers are taken under the counter's row lock, held to the commit
    UPDATE sync_counter SET value = value + 2 WHERE name = 'change_log' RETURNING value INTO v_seq;
    INSERT INTO change_log (seq, table_name, row_id, op, version, source, changed, payload,
                            committed_at)
    VALUES (v_seq - 1, 'queue_tickets', v_id, 'update', v_ticket.version, p_device,
            '["state", "window_number", "clerk_id", "called_at", "recall_count", "routed_window",
              "routed_at", "call_reason", "version", "hlc"]'::json,
            to_json(v_ticket), clock_timestamp()),
           (v_seq, 'queue_ticket_events', p_event_id, 'insert', 1, p_device, '[]'::json,
            to_json(v_event), clock_timestamp());

    RETURN QUERY SELECT 'claimed'::text, v_ticket;
END;
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(RANK_FUNCTION)
    op.execute(CLAIM_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "DROP FUNCTION IF EXISTS queue_claim_next(text, integer, uuid, text, timestamptz, date, text, "
        "text, text, uuid, text, json)"
    )
    op.execute(
        "DROP FUNCTION IF EXISTS queue_rank_waiting(integer, text[], date, timestamptz, integer, "
        "interval, interval, boolean, integer, integer)"
    )
