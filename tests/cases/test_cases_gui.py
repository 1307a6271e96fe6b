"""The cases page driven as a clerk would (offscreen): the list with masked numbers and coloured
deadlines, a search typed and confirmed with Enter, a case's history, later steps through their
dialogs (Enter confirms, Esc cancels), a refused step explained, and the buttons that follow the
state machine."""

from __future__ import annotations

import dataclasses
import datetime as dt

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from window_helpers import bring_to_front

from clerk_app.documents.signing import create_signer
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.gui.pages import PAGES
from clerk_app.gui.pages.cases import CasesPage, StepDialog
from clerk_app.gui.pages.intake import IntakePage
from clerk_app.gui.pdf_preview import PreviewDialog
from clerk_app.gui.workstation import Workstation
from clerk_app.services import intake as intake_service
from clerk_app.services.auth import AuthService, UserSession
from clerk_app.services.cases import CaseService
from clerk_app.services.demo import DEMO_USERS
from clerk_app.services.documents import SIGNING_KEY
from clerk_app.services.intake import ApplicantIn, IntakeForm, IntakeService, MaterialIn
from clerk_app.store.models import Setting
from clerk_app.store.models.cases import CaseEventRecord

FOOD_LICENCE = "113501000300100158000105005000005"
MINE_ID, THEIRS_ID, OLD_ID = "11010519491231002X", "320311197707060018", "350102198001010011"
CST = dt.timezone(dt.timedelta(hours=8))


def _form(intake: IntakeService, name: str, id_number: str, phone: str, missing: int = 0) -> IntakeForm:
    materials = [m for m in intake.materials_for((FOOD_LICENCE,))][missing:]
    form = IntakeForm(
        applicant=ApplicantIn(name=name, id_number=id_number, phone=phone),
        matter_codes=(FOOD_LICENCE,),
        materials=tuple(MaterialIn(m.key) for m in materials),
    )
    fields_of = getattr(intake_service, "extra_fields_of", None)
    if fields_of is None or "extra" not in IntakeForm.__dataclass_fields__:
        return form
    catalogue = load_demo_catalogue()
    values = tuple(
        (f.name, f.choices[0] if f.choices else "10")
        for f in fields_of([catalogue.matter(FOOD_LICENCE)])
        if f.required
    )
    return dataclasses.replace(form, extra=values)  # type: ignore[call-arg, unused-ignore]


def _login(station: Workstation, index: int, window: int) -> UserSession:
    user = DEMO_USERS[index]
    return AuthService(station.runtime).login(window, user.username, user.password)


def _seed(station: Workstation) -> UserSession:
    local = station.runtime.local
    me, colleague = _login(station, 0, 3), _login(station, 1, 4)
    long_ago = IntakeService(local, clock=lambda: dt.datetime(2025, 9, 30, 2, 0, tzinfo=dt.UTC))
    long_ago.accept(me, _form(long_ago, "赵六", OLD_ID, "13600000001"))
    intake = IntakeService(local)
    intake.accept(colleague, _form(intake, "李晓燕", THEIRS_ID, "13912345678"))
    intake.accept(me, _form(intake, "张三", MINE_ID, "13800138000"))
    return me


def _page(qtbot: QtBot, station: Workstation, session: UserSession) -> CasesPage:
    main = station.open_main(session)
    qtbot.addWidget(main)
    page = main.show_page("cases")
    assert isinstance(page, CasesPage)
    qtbot.waitUntil(lambda: page.last_page is not None, timeout=10_000)
    return page


def _column(page: CasesPage, column: int) -> list[str]:
    return [page.results.item(r, column).text() for r in range(page.results.rowCount())]


def _select(qtbot: QtBot, page: CasesPage, row: int) -> None:
    page.results.selectRow(row)
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.row.case_number == _column(page, 0)[row])


def _step(qtbot: QtBot, page: CasesPage, key: str) -> StepDialog:
    page.begin_step(key)
    dialog = page.step_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_cases_page_follows_the_intake_page() -> None:
    assert PAGES.index(CasesPage) == PAGES.index(IntakePage) + 1


def test_list_masks_numbers_and_colours_deadlines(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station, _seed(station))
    assert page.results.rowCount() == 3
    assert _column(page, 1) == ["张三", "李晓燕", "赵六"]  # newest first
    assert _column(page, 2) == [MINE_ID, "320311********0018", OLD_ID]
    assert _column(page, 6)[1] == "139****5678"
    overdue = page.results.item(2, 4)
    assert overdue.text() == "已超期" and overdue.data(Qt.ItemDataRole.UserRole) == "overdue"
    assert overdue.background().color().name() == "#c62828"
    assert "共 3 件" in page.count_label.text()

    page.deadline_combo.setCurrentIndex(page.deadline_combo.findData("overdue"))
    page.search()
    qtbot.waitUntil(lambda: page.results.rowCount() == 1)
    assert _column(page, 1) == ["赵六"]


def test_search_then_take_the_case_through_its_steps(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station, _seed(station))
    page.search_edit.setText("8000")  # 尾号
    qtbot.keyClick(page.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.results.rowCount() == 1)
    _select(qtbot, page, 0)
    assert page.history.rowCount() == 1 and page.history.item(0, 1).text() == "受理"
    assert page.step_buttons["start_review"].isEnabled()
    assert not page.step_buttons["archive"].isEnabled()
    assert not page.step_buttons["decide"].isEnabled()

    dialog = _step(qtbot, page, "start_review")
    dialog.reason_edit.setText("材料齐全，开始审查")
    qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)  # Enter confirms
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.row.status == "in_review", timeout=10_000)
    assert page.history.rowCount() == 2 and "材料齐全" in page.history.item(1, 5).text()
    qtbot.waitUntil(lambda: _column(page, 3) == ["审查"])

    dialog = _step(qtbot, page, "withdraw")
    dialog.reason_edit.setText("不应出现")
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # Esc cancels
    assert page.step_dialog is None
    assert page.detail is not None and page.detail.row.status == "in_review"

    dialog = _step(qtbot, page, "decide")
    assert dialog.decision_combo is not None and dialog.decision_combo.count() == 1  # a clerk may approve
    qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.row.status == "approved", timeout=10_000)

    dialog = _step(qtbot, page, "deliver")
    dialog.reason_edit.setText("")
    qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)  # pickup without a signature note
    qtbot.waitUntil(lambda: station.errors.last is not None, timeout=10_000)
    assert station.errors.last is not None and "签收说明" in station.errors.last[1]
    assert page.detail is not None and page.detail.row.status == "approved"

    dialog = _step(qtbot, page, "deliver")
    assert dialog.method_combo is not None
    dialog.method_combo.setCurrentIndex(dialog.method_combo.findData("mail"))
    dialog.tracking_edit.setText("SF1234567890")
    dialog.address_edit.setText("福州市鼓楼区五四路 1 号")
    qtbot.keyClick(dialog.tracking_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.row.status == "delivered", timeout=10_000)
    assert "SF1234567890" in page.history.item(page.history.rowCount() - 1, 5).text()
    assert page.step_buttons["archive"].isEnabled() and not page.step_buttons["withdraw"].isEnabled()
    page.begin_step("withdraw")  # not offered now: nothing opens
    assert page.step_dialog is None


def test_keyboard_reaches_search_and_steps(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station, _seed(station))
    window = page.window()
    bring_to_front(qtbot, window)
    page.results.setFocus()
    qtbot.keyClick(page.results, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(page.search_edit.hasFocus)
    page.search_edit.setText(MINE_ID)
    qtbot.keyClick(page.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.results.rowCount() == 1)
    _select(qtbot, page, 0)
    page.results.setFocus()
    qtbot.keyClick(page.results, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: page.step_dialog is not None)
    assert page.step_dialog is not None and page.step_dialog.step.key == "start_review"
    qtbot.keyClick(page.step_dialog.reason_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.row.status == "in_review", timeout=10_000)


ISSUER = "11150100MB0000000X"


def _sign_licences(station: Workstation) -> None:
    """The hall names its issuer and this workstation holds the key (in the test keyring)."""
    create_signer(ISSUER)
    with station.runtime.local.unit_of_work() as uow:
        uow.session.add(Setting(key=SIGNING_KEY, value={"issuer_code": ISSUER}))
        uow.commit()


def _previews(qtbot: QtBot, page: CasesPage, doc_type: str) -> PreviewDialog:
    def shown() -> bool:
        errors = page.ctx.errors
        assert getattr(errors, "last", None) is None, errors.last  # type: ignore[attr-defined]
        return any(p.objectName() == f"preview_{doc_type}" for p in page.previews)

    qtbot.waitUntil(shown, timeout=20_000)
    preview = next(p for p in page.previews if p.objectName() == f"preview_{doc_type}")
    assert preview.isVisible()
    return preview


def _documents(page: CasesPage) -> list[str]:
    return [page.documents_list.item(i).text() for i in range(page.documents_list.count())]


def test_decide_license_deliver_by_mail_and_archive_with_their_documents(
    qtbot: QtBot, station: Workstation
) -> None:
    _sign_licences(station)
    page = _page(qtbot, station, _seed(station))
    page.search_edit.setText("8000")  # 尾号 of 张三's phone
    qtbot.keyClick(page.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.results.rowCount() == 1)
    _select(qtbot, page, 0)
    dialog = _step(qtbot, page, "start_review")
    qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.row.status == "in_review", timeout=10_000)
    assert not page.step_buttons["licence"].isEnabled()  # not decided yet

    dialog = _step(qtbot, page, "decide")
    qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)
    approval = _previews(qtbot, page, "approval")
    assert "准予行政许可决定书" in approval.windowTitle()
    assert page.detail is not None and page.detail.row.status == "approved"
    assert [d.doc_type for d in page.detail.documents] == ["approval"]
    assert "准予行政许可决定书" in _documents(page)[0]
    assert "准予行政许可决定书" in page.history.item(page.history.rowCount() - 1, 5).text()
    approval.close()

    assert page.step_buttons["licence"].isEnabled()
    page.begin_step("licence")  # 发证 (F11)
    licence = _previews(qtbot, page, "licence")
    assert "食品经营许可证" in licence.windowTitle()
    qtbot.waitUntil(lambda: not page.step_buttons["licence"].isEnabled())  # one licence per case
    licence.close()

    dialog = _step(qtbot, page, "deliver")
    assert dialog.method_combo is not None
    dialog.method_combo.setCurrentIndex(dialog.method_combo.findData("mail"))
    dialog.tracking_edit.setText("SF1234567890")
    dialog.address_edit.setText("福州市鼓楼区五四路 1 号")
    qtbot.keyClick(dialog.tracking_edit, Qt.Key.Key_Return)
    receipt = _previews(qtbot, page, "delivery")
    assert "送达回证" in receipt.windowTitle()
    assert page.detail is not None and page.detail.row.status == "delivered"
    assert [d.doc_type for d in page.detail.documents] == ["approval", "licence", "delivery"]
    receipt.close()

    page.documents_list.setCurrentRow(0)  # the decision again, from the case's documents
    page.documents_list.setFocus()
    qtbot.keyClick(page.documents_list, Qt.Key.Key_Return)
    again = _previews(qtbot, page, "approval")
    again.close()

    dialog = _step(qtbot, page, "archive")
    qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.row.status == "archived", timeout=10_000)
    assert not any(page.step_buttons[k].isEnabled() for k in ("decide", "deliver", "withdraw", "licence"))


def test_a_step_made_stale_by_a_colleague_is_refused_with_the_reason(
    qtbot: QtBot, station: Workstation
) -> None:
    page = _page(qtbot, station, _seed(station))
    page.search_edit.setText("5678")  # 李晓燕, a colleague's case
    qtbot.keyClick(page.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.results.rowCount() == 1)
    _select(qtbot, page, 0)
    assert page.step_buttons["start_review"].isEnabled()
    assert page.detail is not None
    colleague = _login(station, 1, 4)
    CaseService(station.runtime.local).start_review(colleague, page.detail.row.case_id)  # meanwhile

    dialog = _step(qtbot, page, "start_review")
    qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: station.errors.last is not None, timeout=10_000)
    assert station.errors.last is not None
    message = station.errors.last[1]
    assert "当前为“审查”状态，不能“开始审查”" in message and "Traceback" not in message
    with station.runtime.local.unit_of_work() as uow:
        events = uow.session.scalars(
            select(CaseEventRecord.event).where(CaseEventRecord.case_id == page.detail.row.case_id)
        ).all()
    assert list(events) == ["accept", "start_review"]  # the refused step wrote nothing


def test_correction_received_through_the_checklist(qtbot: QtBot, station: Workstation) -> None:
    me = _seed(station)
    intake = IntakeService(station.runtime.local)
    waiting = intake.request_correction(
        me, _form(intake, "周敏", "350102199001010016", "13700001111", missing=2)
    )
    page = _page(qtbot, station, me)
    page.search_edit.setText("周敏")
    qtbot.keyClick(page.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.results.rowCount() == 1)
    _select(qtbot, page, 0)
    assert page.detail is not None and page.detail.row.case_number == waiting.case_number
    assert page.step_buttons["receive_correction"].isEnabled()

    page.begin_step("receive_correction")  # F5
    dialog = page.correction_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.items.count() > 0, timeout=10_000)
    for row in range(dialog.items.count()):
        dialog.items.item(row).setCheckState(Qt.CheckState.Checked)
    qtbot.keyClick(dialog.note_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.row.status == "accepted", timeout=10_000)
    assert page.history.item(page.history.rowCount() - 1, 1).text() == "受理"
    qtbot.waitUntil(lambda: _column(page, 3) == ["受理"])
