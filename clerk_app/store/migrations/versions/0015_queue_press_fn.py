"""queue: presses in one round trip that notify the displays after their commit; waiting index

On PostgreSQL the presses that move the window's own ticket (开始办理, 办结, 重呼, 过号, 挂起, 叫回)
and 取消 (withdrawing a waiting ticket, with its reason) each
ran through the unit of work: about seven round trips (read the press key, read the ticket, the
conditional UPDATE, read it back, the history row, the press key, the change-log entries, the
commit) and the ORM's work on the workstation. ``queue_press_ticket`` does one press in one
statement, as ``queue_claim_next`` does for 叫号:

1. a key already recorded returns the ticket it acted on (a retry after a lost reply);
2. the ticket is locked (``FOR UPDATE``); where the press leads from its state is looked up in
   ``p_targets``, which the workstation builds from the ticket state machine
   (``clerk_app.domain.ticket_states``) for the clerk's role, so the rules stay in one place:
   a press the machine forbids comes back as ``illegal`` with the state, and one on a ticket no
   longer held by this window as ``moved``; neither writes anything;
3. the press's own values: 开始 sets ``started_at``; 办结 sets ``finished_at``, or, for a ticket
   transferred here with a return, sends it back to its window (event ``transfer``, reason
   ``return``); 重呼 counts the call again, or past the hall's recall limit (setting
   ``queue.policy``) makes it a no-show (reason ``recall_limit``); 过号 sets ``finished_at``;
   叫回 (a parked ticket called back) first checks that the window is free (``busy`` with the
   ticket that holds it) and resets the recall count; 取消 records its reason and needs no
   window to hold the ticket;
4. the history row, the press key and the two change-log entries (without numbers:
   ``change_log_assign()`` numbers them when a pull reads them).

``queue_claim_next`` is redefined to claim its ticket by trying the ranked candidates one by one
(``SELECT … FOR UPDATE SKIP LOCKED`` on each id, the first free one wins) instead of sorting all
64 by their place in the array inside one UPDATE; it asks for the first 32 places, and for all of
them only when every one of those was claimed by other windows in the meantime (before, a press
behind 64 concurrent claims would have found nobody waiting).

The displays were told of every ticket change by the trigger of ``0004_queue`` calling
``pg_notify`` inside the writing transaction. PostgreSQL serialises the commits of all
transactions that notify (one lock, held until the commit is on disk), so every window's press
waited for every other's commit: under 24 windows that lock was where the presses spent most of
their time. A workstation of this release now sets ``clerk.board_notify = 'client'`` for its
press's transaction (``SET LOCAL``), which the trigger respects, and sends the notification itself
right after the press's commit, in the same message, as a transaction of its own that writes
nothing else. A notification lost between the two (the workstation dying in that instant) is
caught by the display's slow safety poll. Every other writer, and a workstation of an earlier
release calling these functions, keeps the trigger's notification.

``queue_rank_waiting`` reads each of its four lists (routed here, appointments, priority and
normal walk-ins) through a partial index of the day's waiting tickets of that kind, cut at the
places asked for, instead of reading every waiting ticket of the day: with 1,000 waiting the
ranking went from 0.6 ms to a fraction of it. On SQLite this revision creates only the indexes:
the central store's write lock serialises the presses there.

Revision ID: 0015_queue_press_fn
Revises: 0014_queue_claim_assign
Create Date: 2026-11-28 07:00:00
"""

from collections.abc import Sequence

from alembic import op

from clerk_app.store.migrations.sources import revision_module as _revision
from clerk_app.store.migrations.sources import swapped

revision: str = "0015_queue_press_fn"
down_revision: str | Sequence[str] | None = "0014_queue_claim_assign"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the waiting tickets of a day, in three small partial indexes by the list the ranking takes
#: them from (a called or finished ticket is in none of them): walk-ins by category, class and
#: age; appointments by their time; tickets routed to a window
_WAITING = "state IN ('issued', 'transferred') AND NOT offline AND NOT deleted"
WAITING_INDEXES = {
    "ix_queue_tickets_walk_ins": (
        "service_day, category, priority, issued_at, id",
        f"{_WAITING} AND routed_window IS NULL AND appointment_at IS NULL",
    ),
    "ix_queue_tickets_appointments": (
        "service_day, appointment_at, issued_at, id",
        f"{_WAITING} AND routed_window IS NULL AND appointment_at IS NOT NULL",
    ),
    "ix_queue_tickets_routed": (
        "service_day, routed_window",
        f"{_WAITING} AND routed_window IS NOT NULL",
    ),
}

#: ``queue_rank_waiting`` of 0012 with its sources read through those indexes: each of the four
#: lists (routed here, appointments, priority walk-ins, normal walk-ins) is its own indexed scan
#: cut at ``p_top``, the walk-ins one scan per category merged, so a press reads about ``p_top``
#: tickets per list and category instead of every waiting ticket of the day. The rest (segments,
#: streak, interleave) is 0012's, word for word.
#: the walk-ins of one class (``t.priority`` or ``NOT t.priority``): one index scan per category,
#: merged in issue order
_WALK_INS = """    (SELECT w.* FROM unnest(p_categories) AS c(code) CROSS JOIN LATERAL (
         SELECT t.id, t.issued_at, t.priority, t.appointment_at, t.routed_at, t.routed_window,
                t.category
         FROM queue_tickets t
         WHERE t.service_day = p_day AND t.state IN ('issued', 'transferred') AND NOT t.offline
           AND NOT t.deleted AND t.routed_window IS NULL AND t.appointment_at IS NULL
           AND t.category = c.code AND {klass}
         ORDER BY t.issued_at, t.id LIMIT p_top) w
     ORDER BY w.issued_at, w.id LIMIT p_top)"""
RANK_SOURCES_TEMPLATE = """WITH candidates AS (
    (SELECT t.id, t.issued_at, t.priority, t.appointment_at, t.routed_at, t.routed_window, t.category
     FROM queue_tickets t
     WHERE t.service_day = p_day AND t.state IN ('issued', 'transferred') AND NOT t.offline
       AND NOT t.deleted AND t.routed_window IS NOT NULL AND t.routed_window = p_window
     ORDER BY coalesce(t.routed_at, t.issued_at), t.issued_at, t.id LIMIT p_top)
    UNION ALL
    (SELECT t.id, t.issued_at, t.priority, t.appointment_at, t.routed_at, t.routed_window, t.category
     FROM queue_tickets t
     WHERE t.service_day = p_day AND t.state IN ('issued', 'transferred') AND NOT t.offline
       AND NOT t.deleted AND t.routed_window IS NULL AND t.appointment_at IS NOT NULL
       AND t.category = ANY (p_categories)
     ORDER BY t.appointment_at, t.issued_at, t.id LIMIT p_top)
    UNION ALL
{walk_ins_priority}
    UNION ALL
{walk_ins_normal}
),
"""
RANK_SOURCES = RANK_SOURCES_TEMPLATE.format(
    walk_ins_priority=_WALK_INS.format(klass="t.priority"),
    walk_ins_normal=_WALK_INS.format(klass="NOT t.priority"),
)


PRESS_FUNCTION = """
CREATE OR REPLACE FUNCTION queue_press_ticket(
    p_key text, p_action text, p_ticket uuid, p_window integer, p_clerk uuid, p_now timestamptz,
    p_device text, p_ticket_hlc text, p_event_hlc text, p_event_id uuid, p_targets json,
    p_recall_limit integer, p_reason text)
RETURNS TABLE (outcome text, event text, from_state text, ticket queue_tickets)
LANGUAGE plpgsql
SET TimeZone = 'UTC'
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_req queue_requests%ROWTYPE;
    v_old queue_tickets%ROWTYPE;
    v_ticket queue_tickets%ROWTYPE;
    v_event_row queue_ticket_events%ROWTYPE;
    v_event text := p_action;
    v_reason text := '';
    v_target text;
    v_limit integer;
    v_back integer;
    v_changed json;
    v_detail jsonb := '{}'::jsonb;
    v_busy queue_tickets%ROWTYPE;
BEGIN
    SELECT * INTO v_req FROM queue_requests r WHERE r.key = p_key;
    IF FOUND THEN
        IF v_req.action <> p_action OR v_req.window_number IS DISTINCT FROM p_window THEN
            RETURN QUERY SELECT 'key_mismatch'::text, p_action, NULL::text, NULL::queue_tickets;
        ELSIF v_req.ticket_id IS NULL THEN
            RETURN QUERY SELECT 'replayed'::text, p_action, NULL::text, NULL::queue_tickets;
        ELSE
            RETURN QUERY SELECT 'replayed'::text, p_action, t.state::text, t
                         FROM queue_tickets t WHERE t.id = v_req.ticket_id;
        END IF;
        RETURN;
    END IF;

    IF p_action = 'call_back' THEN  -- the window must be free first
        SELECT * INTO v_busy FROM queue_tickets t
        WHERE t.window_number = p_window AND t.state IN ('called', 'serving') AND NOT t.offline;
        IF FOUND THEN
            RETURN QUERY SELECT 'busy'::text, p_action, v_busy.state::text, v_busy;
            RETURN;
        END IF;
    END IF;

    SELECT * INTO v_old FROM queue_tickets t WHERE t.id = p_ticket AND NOT t.deleted FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'missing'::text, p_action, NULL::text, NULL::queue_tickets;
        RETURN;
    END IF;

    IF p_action = 'finish' AND v_old.return_window IS NOT NULL AND v_old.return_window <> p_window THEN
        v_event := 'transfer';
        v_reason := 'return';
        v_back := v_old.return_window;
    ELSIF p_action = 'cancel' THEN
        v_reason := p_reason;
    ELSIF p_action = 'recall' THEN
        SELECT coalesce((s.value ->> 'recall_limit')::integer, p_recall_limit) INTO v_limit
        FROM settings s WHERE s.key = 'queue.policy' AND NOT s.deleted;
        IF v_old.recall_count >= coalesce(v_limit, p_recall_limit) THEN
            v_event := 'no_show';
            v_reason := 'recall_limit';
        END IF;
    END IF;

    v_target := p_targets -> v_event ->> v_old.state;
    IF v_target IS NULL THEN
        RETURN QUERY SELECT 'illegal'::text, v_event, v_old.state::text, v_old;
        RETURN;
    END IF;
    -- the window's own ticket, except a cancel (a waiting ticket any window may withdraw)
    IF v_event <> 'cancel' AND v_old.window_number IS DISTINCT FROM p_window THEN
        RETURN QUERY SELECT 'moved'::text, v_event, v_old.state::text, v_old;
        RETURN;
    END IF;

    IF v_event = 'start' THEN
        UPDATE queue_tickets t SET state = v_target, started_at = p_now,
               version = t.version + 1, hlc = p_ticket_hlc
        WHERE t.id = p_ticket RETURNING * INTO v_ticket;
        v_changed := '["state", "started_at", "version", "hlc"]';
    ELSIF v_event = 'transfer' THEN
        UPDATE queue_tickets t SET state = v_target, routed_window = v_back, routed_at = p_now,
               return_window = NULL, finished_at = p_now, window_number = NULL,
               version = t.version + 1, hlc = p_ticket_hlc
        WHERE t.id = p_ticket RETURNING * INTO v_ticket;
        v_changed := '["state", "routed_window", "routed_at", "return_window", "finished_at",
                       "window_number", "version", "hlc"]';
        v_detail := jsonb_build_object('to_window', v_back, 'automatic', true);
    ELSIF v_event IN ('finish', 'no_show', 'cancel') THEN
        UPDATE queue_tickets t SET state = v_target, finished_at = p_now,
               version = t.version + 1, hlc = p_ticket_hlc
        WHERE t.id = p_ticket RETURNING * INTO v_ticket;
        v_changed := '["state", "finished_at", "version", "hlc"]';
    ELSIF v_event = 'recall' THEN
        UPDATE queue_tickets t SET state = v_target, recall_count = t.recall_count + 1,
               called_at = p_now, version = t.version + 1, hlc = p_ticket_hlc
        WHERE t.id = p_ticket RETURNING * INTO v_ticket;
        v_changed := '["state", "recall_count", "called_at", "version", "hlc"]';
    ELSIF v_event = 'park' THEN
        UPDATE queue_tickets t SET state = v_target, version = t.version + 1, hlc = p_ticket_hlc
        WHERE t.id = p_ticket RETURNING * INTO v_ticket;
        v_changed := '["state", "version", "hlc"]';
    ELSIF v_event = 'call_back' THEN
        UPDATE queue_tickets t SET state = v_target, called_at = p_now, recall_count = 0,
               version = t.version + 1, hlc = p_ticket_hlc
        WHERE t.id = p_ticket RETURNING * INTO v_ticket;
        v_changed := '["state", "called_at", "recall_count", "version", "hlc"]';
    ELSE
        RAISE EXCEPTION 'queue_press_ticket: unknown press %', p_action;
    END IF;

    INSERT INTO queue_ticket_events (ticket_id, event, from_state, to_state, window_number,
                                     clerk_id, at, reason, detail, id, origin, version, hlc, deleted)
    VALUES (p_ticket, v_event, v_old.state, v_ticket.state, p_window, p_clerk, p_now, v_reason,
            (jsonb_build_object('number', v_ticket.number, 'category', v_ticket.category,
                                'version', v_ticket.version) || v_detail)::json,
            p_event_id, p_device, 1, p_event_hlc, false)
    RETURNING * INTO v_event_row;

    INSERT INTO queue_requests (key, action, window_number, ticket_id, created_at)
    VALUES (p_key, p_action, p_window, p_ticket, p_now);

    -- the change-log entries, without numbers: change_log_assign() numbers them once committed
    INSERT INTO change_log (table_name, row_id, op, version, source, changed, payload,
                            committed_at)
    VALUES ('queue_tickets', p_ticket, 'update', v_ticket.version, p_device, v_changed,
            to_json(v_ticket), clock_timestamp()),
           ('queue_ticket_events', p_event_id, 'insert', 1, p_device, '[]'::json,
            to_json(v_event_row), clock_timestamp());

    RETURN QUERY SELECT 'done'::text, v_event, v_old.state::text, v_ticket;
END;
$$
"""

#: the trigger of 0004 with one exception: a press function that leaves the notification to the
#: workstation (after its commit) sets ``clerk.board_notify`` to ``client`` in its transaction
_SKIP_WHEN_CLIENT = """BEGIN
    IF coalesce(current_setting('clerk.board_notify', true), '') = 'client' THEN
        RETURN NULL;
    END IF;
"""

#: where the ranking and the claim of 0012 start and end (replaced as one block)
CLAIM_FROM = "    SELECT array_agg(r.id ORDER BY r.pos), array_agg(r.reason ORDER BY r.pos),\n"
CLAIM_TO = "        RETURNING t.id, c.state INTO v_id, v_before;\n    END IF;\n"
NEW_CLAIM = """    -- the first 32 places, and every place only if all 32 were claimed by other windows
    -- between the ranking and the claim (at most one in flight per window)
    FOREACH v_top IN ARRAY ARRAY[32, NULL]::integer[] LOOP
        SELECT array_agg(r.id ORDER BY r.pos), array_agg(r.reason ORDER BY r.pos),
               array_agg(r.priority ORDER BY r.pos)
        INTO v_ids, v_reasons, v_prio
        FROM (SELECT * FROM queue_rank_waiting(
                  p_window, v_cats, p_day, p_now, v_npp,
                  CASE WHEN v_wait > 0 THEN make_interval(mins => v_wait) END,
                  make_interval(mins => v_early), (p_defaults ->> 'serve_early')::boolean,
                  v_state.normal_streak, v_top)
              ORDER BY pos) r;
        -- the first candidate, in ranked order, still waiting and not being claimed by another
        -- window at this moment (its row lock taken, or skipped)
        IF v_ids IS NOT NULL THEN
            FOR i IN 1 .. array_length(v_ids, 1) LOOP
                SELECT w.state INTO v_before FROM queue_tickets w
                WHERE w.id = v_ids[i] AND w.state IN ('issued', 'transferred')
                FOR UPDATE SKIP LOCKED;
                IF FOUND THEN
                    v_at := i;
                    EXIT;
                END IF;
            END LOOP;
        END IF;
        EXIT WHEN v_at IS NOT NULL OR v_ids IS NULL OR array_length(v_ids, 1) < v_top;
    END LOOP;
    IF v_at IS NOT NULL THEN
        UPDATE queue_tickets t
        SET state = p_called_state, window_number = p_window, clerk_id = p_clerk,
            called_at = p_now, recall_count = 0, routed_window = NULL, routed_at = NULL,
            call_reason = v_reasons[v_at], version = t.version + 1, hlc = p_ticket_hlc
        WHERE t.id = v_ids[v_at]
        RETURNING * INTO v_ticket;
        v_id := v_ticket.id;
    END IF;
"""
OLD_DECLARE = """    v_at integer;
"""
NEW_DECLARE = """    v_at integer;
    v_top integer;
"""
OLD_READ = """    SELECT * INTO v_ticket FROM queue_tickets t WHERE t.id = v_id;
    v_at := array_position(v_ids, v_id);
"""


def notify_function() -> str:
    """0004's trigger function, first leaving the notification to a caller that sends its own."""
    source: str = _revision("0004_queue").NOTIFY_FUNCTION
    return swapped(source, [("BEGIN\n", _SKIP_WHEN_CLIENT)], "queue_board_notify of 0004")


def rank_function() -> str:
    """0012's ranking with its sources replaced (everything from ``pool AS (`` on is kept)."""
    source: str = _revision("0012_queue_claim_fn").RANK_FUNCTION
    start, rest = source.index("WITH waiting AS ("), source.index("pool AS (")
    return source[:start] + RANK_SOURCES + source[rest:]


def claim_function() -> str:
    """The 0014 function claiming candidate by candidate."""
    source: str = _revision("0014_queue_claim_assign").claim_function()
    if source.count(CLAIM_FROM) != 1 or source.count(CLAIM_TO) != 1:
        raise RuntimeError("queue_claim_next of 0014 is not the expected text")
    start, end = source.index(CLAIM_FROM), source.index(CLAIM_TO) + len(CLAIM_TO)
    source = source[:start] + NEW_CLAIM + source[end:]
    return swapped(source, ((OLD_READ, ""), (OLD_DECLARE, NEW_DECLARE)), "queue_claim_next of 0014")


def upgrade() -> None:
    for name, (columns, where) in WAITING_INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON queue_tickets ({columns}) WHERE {where}")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(rank_function())
    op.execute(notify_function())
    op.execute(PRESS_FUNCTION)
    op.execute(claim_function())


def downgrade() -> None:
    for name in WAITING_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_revision("0012_queue_claim_fn").RANK_FUNCTION)
    op.execute(_revision("0004_queue").NOTIFY_FUNCTION)
    op.execute(_revision("0014_queue_claim_assign").claim_function())
    op.execute(
        "DROP FUNCTION IF EXISTS queue_press_ticket(text, text, uuid, integer, uuid, timestamptz, text, "
        "text, text, uuid, json, integer, text)"
    )
