"""The rating pad and the supervisor pages as people meet them (offscreen Qt)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot
from supervision_helpers import Contexts, open_demo_runtime, session_for

from clerk_app.gui import app as gui_app
from clerk_app.gui import rating_pad
from clerk_app.gui.pages import PAGES
from clerk_app.gui.pages.supervision import ComplaintsPage, RatingsPage, RectificationsPage
from clerk_app.gui.rating_pad import RatingPad
from clerk_app.security.roles import Role
from clerk_app.services.complaints import ComplaintInput, ComplaintService, Complexity, Source, Status
from clerk_app.services.ratings import Level, RatingInput, RatingService, SupervisionSettings
from clerk_app.services.runtime import Runtime


@pytest.fixture
def runtime(qapp: QApplication, tmp_path: Path) -> Iterator[Runtime]:
    gui_app.configure(qapp, "zh_CN")
    yield from open_demo_runtime(tmp_path / "data")


@pytest.fixture
def contexts(runtime: Runtime) -> Iterator[Contexts]:
    made = Contexts(runtime)
    yield made
    made.tasks.wait_idle(10_000)


def _idle(qtbot: QtBot, contexts: Contexts) -> None:
    qtbot.waitUntil(lambda: not contexts.tasks.busy, timeout=10_000)


def test_supervisor_pages_are_registered_for_supervisors_only() -> None:
    supervised = [p.key for p in PAGES if p.visible_to(Role.SUPERVISOR) and not p.visible_to(Role.CLERK)]
    assert "complaints" in supervised and "rectifications" in supervised


def test_pad_goes_to_the_second_screen_when_there_is_one(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    primary = QApplication.primaryScreen()
    assert rating_pad.target_screen() is primary  # offscreen: one screen
    second = object()
    monkeypatch.setattr(rating_pad.QGuiApplication, "screens", staticmethod(lambda: [primary, second]))
    assert rating_pad.target_screen() is second


def test_rate_a_service_on_the_pad(qtbot: QtBot, contexts: Contexts) -> None:
    ctx = contexts.of("wangxy", 3)
    pad = RatingPad(ctx)
    qtbot.addWidget(pad)
    pad.show_on_applicant_screen()
    _idle(qtbot, contexts)
    assert pad.clerk_label.text() == "王晓燕" and "3 号窗口" in pad.window_label.text()
    assert pad.stack.currentIndex() == rating_pad.IDLE
    pad.request_rating("ticket:A001", "居民身份证换领")
    assert pad.stack.currentIndex() == rating_pad.RATING and not pad.submit_button.isEnabled()
    qtbot.mouseClick(pad.level_buttons[Level.SATISFIED], Qt.MouseButton.LeftButton)
    assert pad.submit_button.isEnabled()
    qtbot.mouseClick(pad.sub_groups["attitude"].button(5), Qt.MouseButton.LeftButton)
    pad.comment.setText("讲解很清楚")
    with qtbot.waitSignal(pad.rated, timeout=10_000) as signal:
        qtbot.mouseClick(pad.submit_button, Qt.MouseButton.LeftButton)
    result = signal.args[0]
    assert result.rating.level is Level.SATISFIED and result.rectification is None
    assert pad.message.text() == "感谢您的评价！"
    rows = RatingService(contexts.runtime).ratings(ctx.session)
    assert [(r.service_ref, r.attitude, r.overall, r.comment, r.matter_name) for r in rows] == [
        ("ticket:A001", 5, None, "讲解很清楚", "居民身份证换领")
    ]
    # one rating per service: asking again is refused with a plain message
    pad.request_rating("ticket:A001")
    qtbot.mouseClick(pad.level_buttons[Level.VERY_SATISFIED], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pad.submit_button, Qt.MouseButton.LeftButton)
    _idle(qtbot, contexts)
    assert contexts.errors.last is not None and "只能评价一次" in contexts.errors.last[1]


def test_pad_times_out_politely_without_recording(qtbot: QtBot, contexts: Contexts) -> None:
    ctx = contexts.of("wangxy", 3)
    pad = RatingPad(ctx)
    qtbot.addWidget(pad)
    _idle(qtbot, contexts)
    pad.settings = SupervisionSettings(pad_timeout_seconds=1)
    pad.request_rating("ticket:A002")
    with qtbot.waitSignal(pad.timed_out, timeout=5000) as signal:
        pass
    assert signal.args == ["ticket:A002"]
    assert "感谢您的耐心" in pad.message.text()
    assert RatingService(contexts.runtime).ratings(ctx.session) == []


def test_ask_for_supervisor_opens_a_case_at_once(qtbot: QtBot, contexts: Contexts) -> None:
    ctx = contexts.of("lijg", 7)
    pad = RatingPad(ctx)
    qtbot.addWidget(pad)
    pad.request_rating("ticket:A003", "社保卡补办")
    with qtbot.waitSignal(pad.supervisor_called, timeout=10_000) as signal:
        qtbot.mouseClick(pad.supervisor_button, Qt.MouseButton.LeftButton)
    case = signal.args[0]
    assert case.source is Source.PAD and case.window_number == 7 and case.case_ref == "ticket:A003"
    assert "负责人" in pad.message.text()
    supervisor = session_for(contexts.runtime, "chenjing", None)
    assert [c.number for c in ComplaintService(contexts.runtime).search(supervisor)] == [case.number]


def test_bad_rating_opens_a_rectification_that_cannot_close_without_follow_up(
    qtbot: QtBot, contexts: Contexts
) -> None:
    pad = RatingPad(contexts.of("wangxy", 3))
    qtbot.addWidget(pad)
    pad.request_rating("ticket:B001")
    qtbot.mouseClick(pad.level_buttons[Level.VERY_DISSATISFIED], Qt.MouseButton.LeftButton)
    assert "不满意" in pad.prompt.text()
    pad.comment.setText("等了一个小时")
    with qtbot.waitSignal(pad.rated, timeout=10_000) as signal:
        qtbot.mouseClick(pad.submit_button, Qt.MouseButton.LeftButton)
    assert signal.args[0].rectification is not None

    page = RectificationsPage(contexts.of("chenjing", None))
    qtbot.addWidget(page)
    page.show()
    page.activated()
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=10_000)
    assert page.table.item(0, 0).text() == "ticket:B001" and page.table.item(0, 4).text() == "等了一个小时"
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.events.count() == 1, timeout=10_000)
    assert not page.close_button.isEnabled() and "不能办结" in page.detail_label.text()
    page.close_rectification()  # even when asked, the service refuses
    _idle(qtbot, contexts)
    assert contexts.errors.last is not None and "没有回访记录" in contexts.errors.last[1]

    page.reached.setChecked(True)
    page.follow_note.setText("已电话致歉，说明了当天排队原因")
    qtbot.mouseClick(page.findChild(QPushButton, "followUpButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.events.count() == 2, timeout=10_000)
    assert page.close_button.isEnabled() and page.table.item(0, 7).text() == "1"
    page.cause_combo.setCurrentIndex(page.cause_combo.findData("efficiency"))
    page.action_edit.setText("高峰时段增开两个窗口")
    page.save_cause()
    qtbot.waitUntil(lambda: page.events.count() == 3, timeout=10_000)
    page.re_rating_combo.setCurrentIndex(page.re_rating_combo.findData(Level.SATISFIED.value))
    page.re_rate()
    qtbot.waitUntil(lambda: page.events.count() == 4, timeout=10_000)
    qtbot.mouseClick(page.close_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.table.rowCount() == 0, timeout=10_000)  # only open ones are listed
    page.open_only.setChecked(False)
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=10_000)
    assert page.table.item(0, 6).text() == "已办结"


def test_register_a_case_timer_runs_hand_over_resolve_close(qtbot: QtBot, contexts: Contexts) -> None:
    page = ComplaintsPage(contexts.of("chenjing", None))
    qtbot.addWidget(page)
    page.show()
    page.activated()
    qtbot.waitUntil(lambda: page.department_combo.count() == 10, timeout=10_000)
    page.tabs.setCurrentIndex(1)
    page.reg_name.setText("刘芳")
    page.reg_phone.setText("13912345678")
    page.reg_request.setPlainText("公司注销需要的清税证明迟迟开不出来")
    page.reg_window.setValue(5)
    page.reg_category.setCurrentIndex(page.reg_category.findData("cross_department"))
    qtbot.mouseClick(page.findChild(QPushButton, "registerButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=10_000)
    assert page.tabs.currentIndex() == 0 and page.table.item(0, 3).text() == "刘芳"
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.events.count() == 1, timeout=10_000)
    first = page.timer_label.text()
    assert first.startswith("计时 00:0") and "20 分钟" in first
    qtbot.waitUntil(lambda: page.timer_label.text() != first, timeout=3000)  # the timer runs
    assert page.table.item(0, 7).text().startswith("00:0")

    page.department_combo.setCurrentText("税务局")
    page.complexity_combo.setCurrentIndex(page.complexity_combo.findData(Complexity.COMPLEX.value))
    page.hand_over()
    qtbot.waitUntil(lambda: page.events.count() == 2, timeout=10_000)
    assert page.table.item(0, 6).text() == "已转办" and page.table.item(0, 8).text() != ""
    assert page.timer_label.text().startswith("首次处理用时")
    page.answer_edit.setText("税务局当日出具清税证明")
    page.resolve()
    qtbot.waitUntil(lambda: page.events.count() == 3, timeout=10_000)
    assert not page.action_buttons["close"].isEnabled()
    page.answer_edit.setText("已电话告知申请人前来领取")
    page.feedback()
    qtbot.waitUntil(lambda: page.events.count() == 4, timeout=10_000)
    assert page.action_buttons["close"].isEnabled()
    qtbot.mouseClick(page.action_buttons["close"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.table.rowCount() == 0, timeout=10_000)  # the default view: open cases
    page.status_filter.setCurrentIndex(page.status_filter.findData(Status.CLOSED.value))
    page.refresh()
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=10_000)


def test_ledger_flags_a_case_past_twenty_minutes_and_exports(
    qtbot: QtBot, contexts: Contexts, tmp_path: Path
) -> None:
    supervisor = session_for(contexts.runtime, "chenjing", None)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=25)
    ComplaintService(contexts.runtime, clock=lambda: past).register(
        supervisor,
        ComplaintInput(
            request="居住证办理被告知要回原籍开证明", source=Source.HOTLINE, hotline_ref="12345-77"
        ),
    )
    page = ComplaintsPage(contexts.of("chenjing", None))
    qtbot.addWidget(page)
    page.show()
    page.activated()
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=10_000)
    timer = page.table.item(0, 7)
    assert timer.text().startswith("25:") and timer.foreground().color().name() == "#b3261e"
    target = tmp_path / "ledger.csv"
    page.export_to(target)
    _idle(qtbot, contexts)
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][1] == "12345 热线" and rows[1][2] == "12345-77"


def test_ratings_page_shows_a_clerk_only_their_own(qtbot: QtBot, contexts: Contexts) -> None:
    service = RatingService(contexts.runtime)
    service.record(session_for(contexts.runtime, "wangxy", 3), RatingInput("ticket:C1", Level.SATISFIED))
    service.record(session_for(contexts.runtime, "lijg", 4), RatingInput("ticket:C2", Level.DISSATISFIED))
    page = RatingsPage(contexts.of("wangxy", 3))
    qtbot.addWidget(page)
    page.activated()
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=10_000)
    assert page.table.item(0, 1).text() == "ticket:C1"
    page.ref_edit.setText("ticket:C3")
    page.request_rating()
    day = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y%m%d")
    assert page.pad is not None and page.pad.service_ref == f"{day}/ticket:C3"
    qtbot.addWidget(page.pad)
    _idle(qtbot, contexts)


def test_screenshots_of_the_supervision_screens(qapp: QApplication, runtime: Runtime, tmp_path: Path) -> None:
    from clerk_app.gui.screenshots import SHOTS, ShotContext
    from clerk_app.gui.supervision_shots import SUPERVISION_SHOTS
    from clerk_app.gui.workstation import Workstation

    assert all(shot in SHOTS for shot in SUPERVISION_SHOTS)
    station = Workstation(runtime, qapp)
    station.errors.interactive = False
    ctx = ShotContext(qapp, station, tmp_path)
    written = [path for shot in SUPERVISION_SHOTS for path in shot(ctx)]
    station.tasks.wait_idle(10_000)
    assert [p.name for p in written] == [
        "rating-pad.png",
        "supervision-rectification.png",
        "supervision-complaint.png",
        "supervision-monitor.png",
        "supervision-reports.png",
    ]
    assert all(p.stat().st_size > 10_000 for p in written)
    assert station.errors.last is None
