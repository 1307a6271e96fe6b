"""The intake page driven as a clerk would (offscreen): the wrong check digit is marked at the field
as it is typed, the 企业开办 bundle is found by its pinyin initials, materials are ticked and one
deferred under 容缺, the case is accepted with its notices previewed, and the store holds the case,
its event, its deadline, its outbox entries and the archived notices. Also correction, refusal,
on the spot, the ID-card reader, the returning applicant, parked drafts and the idle lock."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from window_helpers import bring_to_front

from clerk_app.gui.id_reader import BurstDetector
from clerk_app.gui.intake_widgets import DateField, hall_today
from clerk_app.gui.pages.intake import COL_DUE, COL_FORM, COL_NOTE, COL_STATE, IntakePage
from clerk_app.gui.workstation import Workstation
from clerk_app.services.auth import AuthService
from clerk_app.services.demo import DEMO_USERS
from clerk_app.store.models import OutboxEntry
from clerk_app.store.models.cases import Case, CaseEventRecord, CaseMaterial, IntakeDraft
from clerk_app.store.models.documents import DocumentRecord

FOOD_LICENCE = "113501000300100158000105005000005"
SOLE_TRADER = "113501000300100158000105004000004"
VALID_ID = "11010519491231002X"
BAD_CHECK_ID = "110105194912310021"
WAIT = 15_000


def _page(qtbot: QtBot, station: Workstation) -> IntakePage:
    user = DEMO_USERS[0]
    session = AuthService(station.runtime).login(3, user.username, user.password)
    main = station.open_main(session)
    qtbot.addWidget(main)
    page = main.show_page("intake")
    assert isinstance(page, IntakePage)
    return page


def commit(widget: QWidget, text: str) -> None:
    """Type ``text`` (Chinese included) as an input method commits it: ``textEdited`` fires."""
    if isinstance(widget, QLineEdit):
        widget.clear()
    event = QInputMethodEvent("", [])
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)


def _idle(qtbot: QtBot, station: Workstation) -> None:
    qtbot.waitUntil(lambda: not station.tasks.busy, timeout=WAIT)


def _settle(qtbot: QtBot, station: Workstation) -> None:
    """End of a test: pending autosave and validation run and every result arrives while the
    widgets still exist."""
    qtbot.wait(1000)
    if station.window is not None:  # periodic refreshes elsewhere in the window stop too
        for timer in station.window.findChildren(QTimer):
            timer.stop()
    _idle(qtbot, station)
    qtbot.wait(50)
    _idle(qtbot, station)


def _person(page: IntakePage, qtbot: QtBot, number: str = VALID_ID) -> None:
    page.id_edit.clear()
    qtbot.keyClicks(page.id_edit, number)
    commit(page.name_edit, "张三")
    qtbot.keyClicks(page.phone_edit, "13800138000")


def _choose(page: IntakePage, qtbot: QtBot, query: str) -> None:
    if query.isascii():
        qtbot.keyClicks(page.matter_search, query)
    else:
        commit(page.matter_search, query)
    assert page.matter_hits.count() > 0
    qtbot.keyClick(page.matter_search, Qt.Key.Key_Return)


def _fill_extras(page: IntakePage) -> None:
    for widget in page.extra_widgets.values():
        if isinstance(widget, QComboBox):
            widget.setCurrentIndex(1)
        elif isinstance(widget, QLineEdit):
            commit(
                widget,
                "10" if "capital" in widget.objectName() or "count" in widget.objectName() else "软件开发",
            )


def _row(page: IntakePage, name: str) -> int:
    table = page.materials_table
    return next(r for r in range(table.rowCount()) if table.item(r, 0).text() == name)  # type: ignore[union-attr]


def _close_previews(page: IntakePage) -> None:
    for dialog in list(page.previews):
        dialog.close()


def _bundle_with_one_deferred(page: IntakePage, qtbot: QtBot) -> None:
    _choose(page, qtbot, "qykb")  # 企业开办 by its pinyin initials
    assert page.bundle_combo.currentData() == "YJS-001"
    assert page.materials_table.rowCount() == 13
    assert set(page.extra_widgets) == {
        "enterprise_kind",
        "registered_capital",
        "business_scope",
        "staff_count",
        "seal_set",
    }
    _fill_extras(page)
    table = page.materials_table
    form = table.cellWidget(_row(page, "股东主体资格证明"), COL_FORM)
    assert isinstance(form, QComboBox) and form.currentData() == "copy"
    account = _row(page, "单位银行账户信息")
    state = table.cellWidget(account, COL_STATE)
    assert isinstance(state, QComboBox)
    state.setCurrentIndex(state.findData("deferred"))
    due = table.cellWidget(account, COL_DUE)
    assert isinstance(due, DateField) and due.calendarPopup()
    assert due.value() == hall_today()  # starts on the hall's day


def test_clerk_takes_an_application_from_id_to_accepted_case(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station)
    qtbot.keyClicks(page.id_edit, BAD_CHECK_ID)  # wrong check digit first
    qtbot.waitUntil(lambda: page.id_edit.property("invalid") is True, timeout=WAIT)
    assert "校验" in page.field_problem("applicant.id_number")
    commit(page.name_edit, "张三")  # typing elsewhere is not blocked
    assert page.name_edit.text() == "张三"
    page.id_edit.clear()
    qtbot.keyClicks(page.id_edit, VALID_ID)
    qtbot.waitUntil(lambda: page.id_edit.property("invalid") is False, timeout=WAIT)
    qtbot.keyClicks(page.phone_edit, "13800138000")
    commit(page.address_edit, "示例市新城区某路 8 号")

    _bundle_with_one_deferred(page, qtbot)
    page.save_draft()
    qtbot.waitUntil(lambda: page.draft_stored is not None, timeout=WAIT)

    page.accept_case()
    qtbot.waitUntil(lambda: page.last_result is not None, timeout=WAIT)
    result = page.last_result
    assert result is not None and result.case_number in page.result_label.text()
    assert [d.doc_type for d in result.documents] == ["acceptance", "tolerance"]
    assert len(page.previews) == 2 and page.previews[0].preview.page_count() >= 1
    _close_previews(page)
    _idle(qtbot, station)
    with station.runtime.local.unit_of_work() as uow:
        s = uow.session
        case = s.scalars(select(Case)).one()
        assert case.status == "accepted" and case.window_number == 3 and case.bundle_code == "YJS-001"
        assert case.promised_due is not None and case.promised_date is not None
        assert case.extra["seal_set"] == "公章" and case.extra["registered_capital"] == "10"
        event = s.scalars(select(CaseEventRecord)).one()
        assert event.event == "accept" and event.actor_name and event.window_number == 3
        deferred = s.scalars(select(CaseMaterial).where(CaseMaterial.state == "deferred")).one()
        assert deferred.name == "单位银行账户信息" and deferred.due_date == hall_today()
        outbox = {(e.table_name, e.row_id) for e in s.scalars(select(OutboxEntry))}
        documents = s.scalars(select(DocumentRecord)).all()
        assert sorted(d.doc_type for d in documents) == ["acceptance", "tolerance"]
        assert {d.case_ref for d in documents} == {case.case_number}
        assert s.scalars(select(IntakeDraft)).all() == []
        rows = [("cases", case.id), ("case_events", event.id), ("case_materials", deferred.id)]
    # every row is captured for sync: still in the outbox, or already pushed to the central store
    with station.runtime.central.unit_of_work() as cuow:
        for table, row_id in rows:
            model = {"cases": Case, "case_events": CaseEventRecord, "case_materials": CaseMaterial}[table]
            assert (table, row_id) in outbox or cuow.session.get(model, row_id) is not None, table

    # the same applicant again: recognised with the open case, details offered (回头件)
    page.clear_form()
    qtbot.keyClicks(page.id_edit, VALID_ID.lower())
    qtbot.waitUntil(lambda: page.returning is not None, timeout=WAIT)
    assert result.case_number in page.returning_label.text()
    page.use_returning()
    assert page.name_edit.text() == "张三" and page.phone_edit.text() == "13800138000"
    _settle(qtbot, station)


def test_correction_lists_everything_missing_and_prints_the_one_time_notice(
    qtbot: QtBot, station: Workstation
) -> None:
    page = _page(qtbot, station)
    _person(page, qtbot)
    _choose(page, qtbot, "食品经营许可")
    assert page.materials_table.rowCount() == 6
    for name in ("营业执照", "经营场所平面布局图"):
        state = page.materials_table.cellWidget(_row(page, name), COL_STATE)
        assert isinstance(state, QComboBox)
        state.setCurrentIndex(state.findData("missing"))
    reason = page.materials_table.cellWidget(_row(page, "营业执照"), COL_NOTE)
    assert isinstance(reason, QLineEdit)
    commit(reason, "营业执照已过有效期")  # the reason told on the 一次性告知书
    page.request_correction()
    qtbot.waitUntil(lambda: page.last_result is not None, timeout=WAIT)
    result = page.last_result
    assert result is not None and result.status == "correction_requested"
    assert [m.name for m in result.missing] == ["营业执照", "经营场所平面布局图"]
    assert result.missing[0].note == "营业执照已过有效期"
    assert [d.doc_type for d in result.documents] == ["one_time"]
    assert "营业执照" in page.result_label.text()
    _close_previews(page)
    _settle(qtbot, station)


def test_refusal_needs_reason_and_basis_then_prints_with_the_authority(
    qtbot: QtBot, station: Workstation
) -> None:
    page = _page(qtbot, station)
    _person(page, qtbot)
    _choose(page, qtbot, "spjyxk")  # 食品经营许可 by initials
    page.refuse_case()
    qtbot.waitUntil(lambda: station.errors.last is not None, timeout=WAIT)
    assert page.reason_edit.property("invalid") is True and page.basis_edit.property("invalid") is True
    commit(page.reason_edit, "申请事项不属于本机关职权范围")
    commit(page.basis_edit, "《中华人民共和国行政许可法》第三十二条第一款第二项")
    commit(page.authority_edit, "示例市卫生健康委员会")
    page.refuse_case()
    qtbot.waitUntil(lambda: page.last_result is not None, timeout=WAIT)
    result = page.last_result
    assert result is not None and result.status == "not_accepted"
    assert [d.doc_type for d in result.documents] == ["refusal"]
    _close_previews(page)
    with station.runtime.local.unit_of_work() as uow:
        event = uow.session.scalars(select(CaseEventRecord)).one()
        assert event.detail["authority"] == "示例市卫生健康委员会" and "第三十二条" in event.legal_basis
    _settle(qtbot, station)


def test_on_the_spot_completes_an_immediate_matter(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station)
    _person(page, qtbot)
    _choose(page, qtbot, "个体工商户设立登记")
    _fill_extras(page)
    page.done_on_the_spot()
    qtbot.waitUntil(lambda: page.last_result is not None, timeout=WAIT)
    result = page.last_result
    assert result is not None and result.status == "approved"
    assert [d.doc_type for d in result.documents] == ["completion"]
    _close_previews(page)
    _settle(qtbot, station)


def test_keyboard_wedge_reader_fills_the_id_field_and_moves_on(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station)
    page.window().show()
    commit(page.address_edit, "示例路")
    qtbot.keyClicks(page.address_edit, VALID_ID)  # the reader types into whatever has the focus
    qtbot.keyClick(page.address_edit, Qt.Key.Key_Return)
    assert page.id_edit.text() == VALID_ID
    assert page.address_edit.text() == "示例路"  # the burst was taken back out
    qtbot.waitUntil(page.name_edit.hasFocus, timeout=WAIT)
    _settle(qtbot, station)


def test_burst_detector_tells_a_reader_from_a_person() -> None:
    reader = BurstDetector(max_gap_ms=35)
    for i, ch in enumerate(VALID_ID):
        reader.key(ch, i * 0.004)
    assert reader.enter(len(VALID_ID) * 0.004) == VALID_ID
    person = BurstDetector(max_gap_ms=35)
    for i, ch in enumerate(VALID_ID):
        person.key(ch, i * 0.15)
    assert person.enter(len(VALID_ID) * 0.15) is None
    short = BurstDetector()
    for i, ch in enumerate("13800138000"):
        short.key(ch, i * 0.001)
    assert short.enter(0.012) is None


def test_parked_draft_is_picked_up_and_survives_the_idle_lock(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station)
    main = page.window()
    main.show()
    _person(page, qtbot)
    _choose(page, qtbot, "食品经营许可")
    qtbot.waitUntil(lambda: page.draft_stored is not None, timeout=WAIT)  # autosaved off the GUI thread
    first = page.draft_id
    page.clear_form()  # a second applicant sits down; the first is parked
    commit(page.name_edit, "李四")
    main.lock()  # idle lock: the typing is stored at once and left on screen
    _idle(qtbot, station)
    assert main.lock_dialog is not None
    with station.runtime.local.unit_of_work() as uow:
        names = sorted(d.label for d in uow.session.scalars(select(IntakeDraft)))
    assert names == ["张三", "李四"]
    main.lock_dialog.done(1)  # unlocked
    assert page.name_edit.text() == "李四"

    page.refresh_drafts()
    qtbot.waitUntil(lambda: page.drafts_combo.count() == 2, timeout=WAIT)
    page.drafts_combo.setCurrentIndex(page.drafts_combo.findData(str(first)))
    page.resume_selected()
    assert page.draft_id == first and page.name_edit.text() == "张三"
    assert page.chosen_matters() == (FOOD_LICENCE,) and page.materials_table.rowCount() == 6
    _settle(qtbot, station)


def test_tab_order_follows_the_form(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station)
    chain = page.tab_chain()
    assert chain.index(page.id_edit) < chain.index(page.name_edit) < chain.index(page.matter_search)
    assert (
        chain.index(page.matter_search) < chain.index(page.materials_table) < chain.index(page.accept_button)
    )
    seen = page.id_edit.nextInFocusChain()
    while isinstance(seen, QWidget) and seen is not page.name_edit and seen.parent() is page.id_edit:
        seen = seen.nextInFocusChain()
    assert seen is page.name_edit
    _settle(qtbot, station)


def test_ticket_being_served_is_linked_to_the_form(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station)
    page.window().show()
    panel = page.window().findChild(QWidget, "page_queue")
    assert panel is not None

    class Ticket:
        number = "A012"

    panel.serving_started.emit(Ticket())  # type: ignore[attr-defined]
    assert page.ticket_edit.text() == "A012"
    assert page.current_form().ticket_number == "A012"
    _settle(qtbot, station)


def test_keyboard_map_reaches_the_form_and_esc_closes_the_preview(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station)
    main = page.window()
    bring_to_front(qtbot, main)
    page.name_edit.setFocus()
    qtbot.waitUntil(page.name_edit.hasFocus)
    qtbot.keyClick(page.name_edit, Qt.Key.Key_F2)
    qtbot.waitUntil(page.id_edit.hasFocus, timeout=WAIT)
    qtbot.keyClicks(page.id_edit, VALID_ID)
    qtbot.keyClick(page.id_edit, Qt.Key.Key_Return)  # Enter moves on
    qtbot.waitUntil(page.name_edit.hasFocus, timeout=WAIT)
    commit(page.name_edit, "张三")
    qtbot.keyClick(page.name_edit, Qt.Key.Key_Return)
    qtbot.keyClicks(page.phone_edit, "13800138000")
    qtbot.keyClick(page.phone_edit, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(page.matter_search.hasFocus, timeout=WAIT)
    qtbot.keyClicks(page.matter_search, "gtgsh")  # 个体工商户设立登记, a 即办件
    qtbot.keyClick(page.matter_search, Qt.Key.Key_Return)
    assert page.chosen_matters() == (SOLE_TRADER,)
    _fill_extras(page)
    qtbot.keyClick(page.materials_table, Qt.Key.Key_F8)  # 当场办结
    qtbot.waitUntil(lambda: page.last_result is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: len(page.previews) == 1, timeout=WAIT)
    preview = page.previews[0]
    preview.activateWindow()
    qtbot.keyClick(preview, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not page.previews, timeout=WAIT)
    _settle(qtbot, station)
