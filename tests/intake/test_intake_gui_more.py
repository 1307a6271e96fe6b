"""The intake page driven as a clerk would (offscreen), for the correction checklist dialog (a
returning applicant brings part of the missing materials, then the rest), the date editors (hall
day, 容缺 due dates capped at the promised completion date, an optional date left blank) and the
ticket served from the queue panel carried by its id."""

from __future__ import annotations

import datetime as dt
import uuid

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QComboBox, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from test_intake_gui import (
    FOOD_LICENCE,
    VALID_ID,
    WAIT,
    _choose,
    _close_previews,
    _idle,
    _page,
    _person,
    _row,
    _settle,
    commit,
)

from clerk_app.gui.correction_dialog import CorrectionDialog
from clerk_app.gui.intake_widgets import DateField, hall_today
from clerk_app.gui.pages.intake import COL_DUE, COL_STATE
from clerk_app.gui.workstation import Workstation
from clerk_app.services.intake import CaseResult, IntakeService
from clerk_app.store.models.cases import Case, CaseMaterial
from clerk_app.store.models.documents import DocumentRecord

BUILDING_PERMIT = "11350100030010066G000111001000001"  # optional date field 计划开工日期


def _open_dialog(page, qtbot: QtBot) -> CorrectionDialog:  # type: ignore[no-untyped-def]
    page.clear_form()
    qtbot.keyClicks(page.id_edit, VALID_ID)
    qtbot.waitUntil(lambda: page._waiting_case() is not None, timeout=WAIT)
    assert "Ctrl+B" in page.returning_label.text()
    page.receive_correction()
    dialog = page.correction_dialog
    assert isinstance(dialog, CorrectionDialog)
    qtbot.waitUntil(lambda: dialog.items.count() > 0, timeout=WAIT)
    return dialog


def _ask_for_three(page, qtbot: QtBot) -> CaseResult:  # type: ignore[no-untyped-def]
    _person(page, qtbot)
    _choose(page, qtbot, "食品经营许可")
    for name in ("营业执照", "经营场所平面布局图", "设备布局和操作流程文件"):
        state = page.materials_table.cellWidget(_row(page, name), COL_STATE)
        assert isinstance(state, QComboBox)
        state.setCurrentIndex(state.findData("missing"))
    page.request_correction()
    qtbot.waitUntil(lambda: page.last_result is not None, timeout=WAIT)
    asked = page.last_result
    assert asked is not None and len(asked.missing) == 3
    _close_previews(page)
    return asked


def test_returning_applicant_brings_part_then_the_rest(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station)
    page.window().show()
    asked = _ask_for_three(page, qtbot)

    dialog = _open_dialog(page, qtbot)
    assert [dialog.items.item(r).text() for r in range(3)] == [
        "营业执照（必需）",
        "经营场所平面布局图（必需）",
        "设备布局和操作流程文件（必需）",
    ]
    dialog.record()  # nothing ticked: told in the dialog, nothing sent
    assert dialog.status.text() == "请勾选申请人本次带来的材料"
    dialog.items.setFocus()
    dialog.items.setCurrentRow(0)
    qtbot.keyClick(dialog.items, Qt.Key.Key_Space)  # Space ticks
    dialog.items.setCurrentRow(2)
    qtbot.keyClick(dialog.items, Qt.Key.Key_Space)
    assert len(dialog.ticked()) == 2
    with qtbot.waitSignal(dialog.recorded, timeout=WAIT) as partial:
        dialog.record()
    receipt = partial.args[0]
    assert not receipt.complete and [i.name for i in receipt.remaining] == ["经营场所平面布局图"]
    assert "仍缺：经营场所平面布局图" in page.result_label.text()
    qtbot.waitUntil(lambda: len(page.previews) == 1, timeout=WAIT)  # the re-issued list
    assert page.previews[0].windowTitle().startswith("补正材料通知书")
    _close_previews(page)
    with station.runtime.local.unit_of_work() as uow:
        case = uow.session.get(Case, asked.case_id)
        assert case is not None and case.status == "correction_requested" and case.accepted_at is None
        kinds = sorted(uow.session.scalars(select(DocumentRecord.doc_type)))
        assert kinds == ["correction", "one_time"]

    page._looked_up = ""
    dialog = _open_dialog(page, qtbot)
    assert dialog.items.count() == 1
    dialog.items.item(0).setCheckState(Qt.CheckState.Checked)
    with qtbot.waitSignal(dialog.recorded, timeout=WAIT) as done:
        qtbot.keyClick(dialog.note_edit, Qt.Key.Key_Return)  # Enter records
    assert done.args[0].complete and done.args[0].status == "accepted"
    assert "补正材料已齐全" in page.result_label.text()
    qtbot.waitUntil(lambda: len(page.previews) == 1, timeout=WAIT)  # accepted now: its 受理通知书
    assert page.previews[0].windowTitle().startswith("受理通知书")
    _close_previews(page)
    _idle(qtbot, station)
    with station.runtime.local.unit_of_work() as uow:
        case = uow.session.get(Case, asked.case_id)
        assert case is not None and case.status == "accepted" and case.promised_date is not None
        states = set(uow.session.scalars(select(CaseMaterial.state).where(CaseMaterial.case_id == case.id)))
        assert states == {"received"}
    _settle(qtbot, station)


def test_deferred_due_date_is_capped_at_the_promised_date(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station)
    _person(page, qtbot)
    _choose(page, qtbot, "食品经营许可")  # promised in 5 working days
    row = _row(page, "经营场所平面布局图")
    due = page.materials_table.cellWidget(row, COL_DUE)
    assert isinstance(due, DateField) and due.displayFormat() == "yyyy-MM-dd" and due.calendarPopup()
    assert not due.isEnabled()  # only for a deferred material
    state = page.materials_table.cellWidget(row, COL_STATE)
    assert isinstance(state, QComboBox)
    state.setCurrentIndex(state.findData("deferred"))
    assert due.isEnabled() and due.value() == hall_today()
    promised = IntakeService(station.runtime.local, page.catalogue).promised_date((FOOD_LICENCE,))
    assert promised is not None and promised > hall_today()
    qtbot.waitUntil(lambda: page.materials_table.due_limit == promised, timeout=WAIT)
    assert due.maximumDate() == QDate(promised.year, promised.month, promised.day)
    assert promised.isoformat() in due.toolTip()
    due.setDate(QDate(promised.year, promised.month, promised.day).addDays(30))  # past the promise
    assert due.value() == promised
    due.setDate(QDate(2000, 1, 3))  # before today
    assert due.value() == hall_today()
    due.setFocus()
    due.setSelectedSection(DateField.Section.YearSection)
    qtbot.keyClick(due, Qt.Key.Key_Up)  # a year later is past the promise: it stays capped
    assert due.value() is not None and due.value() <= promised
    assert page.current_form().materials[row].due == due.value()
    _settle(qtbot, station)


def test_optional_date_field_starts_blank_and_is_typed(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station)
    page.window().show()
    _choose(page, qtbot, "建筑工程施工许可证核发")
    assert page.chosen_matters() == (BUILDING_PERMIT,)
    start = page.extra_widgets["planned_start"]
    assert isinstance(start, DateField) and start.optional
    assert start.text() == "未填" and dict(page.extra_values())["planned_start"] == ""
    start.setFocus()
    qtbot.keyClick(start, Qt.Key.Key_Up)  # touching it starts from today
    assert start.value() is not None
    start.set_value(dt.date(2026, 3, 2))
    assert dict(page.extra_values())["planned_start"] == "2026-03-02"
    qtbot.keyClick(start, Qt.Key.Key_Delete)  # emptied again
    assert dict(page.extra_values())["planned_start"] == ""
    _settle(qtbot, station)


def test_ticket_is_carried_by_id_and_dropped_when_typed_over(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station)
    page.window().show()
    panel = page.window().findChild(QWidget, "page_queue")
    assert panel is not None

    class Ticket:
        id = uuid.uuid4()
        number = "07-003"
        offline = True

    panel.serving_started.emit(Ticket())  # type: ignore[attr-defined]
    form = page.current_form()
    assert (form.ticket_number, form.ticket_id, form.ticket_offline) == ("07-003", str(Ticket.id), True)
    commit(page.ticket_edit, "A099")  # typed by hand: not the ticket the panel gave
    form = page.current_form()
    assert (form.ticket_number, form.ticket_id, form.ticket_offline) == ("A099", "", False)
    _settle(qtbot, station)
