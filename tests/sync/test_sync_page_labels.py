"""The Sync page speaks the clerk's words: business names of the records, Chinese labels of the
fields (English in the English interface), times in hall time, states by their names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app import i18n
from clerk_app.domain.case_states import CaseState
from clerk_app.gui.pages.sync import SyncPage
from clerk_app.gui.workstation import Workstation
from clerk_app.services.auth import AuthService
from clerk_app.services.demo import DEMO_USERS
from clerk_app.services.runtime import open_store
from clerk_app.store.engine import sqlite_url
from clerk_app.store.models.cases import Applicant, Case
from clerk_app.sync import client, labels
from clerk_app.sync.codec import synced_tables


def test_field_and_table_labels() -> None:
    assert labels.table_label("cases") == "办件"
    assert labels.table_label("queue_tickets") == "取号"
    assert labels.table_label("ratings") == "评价"
    assert labels.field_label("halls", "contact_phone") == "咨询电话"
    assert labels.field_label("cases", "status") == "办件状态"
    assert labels.field_label("queue_tickets", "window_number") == "窗口号"  # shared by name
    assert labels.field_label("cases", "some_future_column") == "some_future_column"
    i18n.set_language("en")
    assert labels.table_label("queue_tickets") == "Queue ticket"
    assert labels.field_label("halls", "contact_phone") == "Enquiry phone"


def test_every_synced_table_has_a_business_name() -> None:
    unnamed = [t.name for t in synced_tables() if labels.table_label(t.name) == t.name]
    assert not unnamed


def test_values_read_as_on_the_screens() -> None:
    # a UTC instant in the payload is shown in hall time (UTC+8)
    assert labels.show_value("cases", "promised_due", "2026-11-30T09:00:00+00:00") == "2026-11-30 17:00"
    assert labels.show_value("cases", "promised_date", "2026-12-01") == "2026-12-01"
    assert labels.show_value("cases", "status", "accepted") == CaseState.ACCEPTED.label
    assert labels.show_value("cases", "delivery", "mail") == "邮寄送达"
    assert labels.show_value("queue_tickets", "state", "no_show") != "no_show"
    assert labels.show_value("users", "role", "supervisor") == "值班负责人"
    assert labels.show_value("cases", "cross_region", True) == "是"
    assert labels.show_value("cases", "matter_codes", ["A1", "B2"]) == "A1、B2"
    assert labels.show_value("users", "password_hash", "$argon2id$…") == "（已隐藏）"
    assert labels.show_value("cases", "agent_phone", "") == "—"
    assert (
        labels.show_value("cases", "status", "a_state_from_a_newer_program") == "a_state_from_a_newer_program"
    )


def _losing_case_edit(station: Workstation, tmp_path: Path) -> None:
    """A case both this workstation and another one change offline: status and promised time.
    The other one syncs first; this workstation's values are rejected."""
    rt = station.runtime
    with rt.central.unit_of_work() as uow:
        applicant = Applicant(kind="person", id_type="ID", id_number="150102199001011234", name="张三")
        uow.session.add(applicant)
        uow.session.flush()
        case = Case(
            case_number="HH-2026-000123",
            applicant_id=applicant.id,
            status=CaseState.ACCEPTED.value,
            clerk_id=applicant.id,
            delivery="pickup",
        )
        uow.session.add(case)
        uow.commit()
        case_id = case.id
    other = open_store(sqlite_url(tmp_path / "other.sqlite"))
    try:
        client.pull(other, rt.central)
        client.pull(rt.local, rt.central)
        edits = (
            (other, CaseState.APPROVED, dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)),
            (rt.local, CaseState.IN_REVIEW, dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)),
        )
        for store, status, due in edits:
            with store.unit_of_work() as uow:
                row = uow.session.get(Case, case_id)
                assert row is not None
                row.status = status.value
                row.promised_due = due
                uow.commit()
        client.sync_round(other, rt.central)
        assert client.sync_round(rt.local, rt.central).push.rejected == 1
    finally:
        other.dispose()


def test_the_sync_page_shows_labels_and_readable_values(
    qtbot: QtBot, station: Workstation, tmp_path: Path
) -> None:
    _losing_case_edit(station, tmp_path)
    user = next(u for u in DEMO_USERS if u.username == "wangxy")
    main = station.open_main(AuthService(station.runtime).login(3, user.username, user.password))
    qtbot.addWidget(main)
    page = main.show_page("sync")
    assert isinstance(page, SyncPage)
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=5000)
    what_item, values_item = page.table.item(0, 1), page.table.item(0, 3)
    assert what_item is not None and values_item is not None
    what, values = what_item.text(), values_item.text()
    assert what.startswith("办件 ") and "cases" not in what
    assert "承诺办结时间：2026-11-30 17:00（中心库：2026-12-01 10:00）" in values
    shown = f"办件状态：{CaseState.IN_REVIEW.label}（中心库：{CaseState.APPROVED.label}）"
    assert shown in values and "promised_due" not in values and "in_review" not in values
    with Session(station.runtime.local.engine) as s:
        assert s.scalar(select(Case.status)) == CaseState.APPROVED.value  # the central store's value won
