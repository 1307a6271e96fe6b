"""The intake page driven as a clerk would (offscreen): a wrong check digit is refused with the
field marked, the corrected form is accepted with a deferred material, the draft saved on the
way is gone, and the case is in the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QApplication, QComboBox, QDateEdit
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from clerk_app.gui import app as gui_app
from clerk_app.gui.pages.intake import IntakePage
from clerk_app.gui.workstation import Workstation
from clerk_app.services.auth import AuthService
from clerk_app.services.demo import DEMO_USERS, ensure_demo
from clerk_app.services.runtime import open_runtime
from clerk_app.settings import resolve_paths
from clerk_app.store.models.cases import Case, CaseMaterial, IntakeDraft

FOOD_LICENCE = "113501000300100158000105005000005"


@pytest.fixture
def station(qapp: QApplication, data_dir: Path) -> Iterator[Workstation]:
    gui_app.configure(qapp, "zh_CN")
    runtime = open_runtime(resolve_paths(data_dir))
    ensure_demo(runtime.central, runtime.local)
    ws = Workstation(runtime, qapp)
    ws.errors.interactive = False
    yield ws
    if ws.window is not None:
        ws.window.close()
    ws.shutdown()


def _page(qtbot: QtBot, station: Workstation) -> IntakePage:
    user = DEMO_USERS[0]
    session = AuthService(station.runtime).login(3, user.username, user.password)
    main = station.open_main(session)
    qtbot.addWidget(main)
    page = main.show_page("intake")
    assert isinstance(page, IntakePage)
    return page


def test_clerk_fills_in_the_form_and_accepts(qtbot: QtBot, station: Workstation) -> None:
    page = _page(qtbot, station)
    page.id_edit.setText("110105194912310021")  # wrong check digit first
    page.name_edit.setText("张三")
    page.phone_edit.setText("13800138000")
    for row in range(page.matter_list.count()):
        item = page.matter_list.item(row)
        if item.data(Qt.ItemDataRole.UserRole) == FOOD_LICENCE:
            item.setCheckState(Qt.CheckState.Checked)
    assert page.materials_table.rowCount() == 6
    page.save_draft()
    qtbot.waitUntil(lambda: page.draft_id is not None, timeout=10_000)

    page.accept_case()
    qtbot.waitUntil(lambda: station.errors.last is not None, timeout=10_000)
    assert station.errors.last is not None and "校验" in station.errors.last[1]
    assert page.id_edit.property("invalid") is True

    page.id_edit.setText("11010519491231002X")
    plan = page.materials_table.cellWidget(3, 2)  # 经营场所平面布局图 may be deferred
    assert isinstance(plan, QComboBox)
    plan.setCurrentIndex(plan.findData("deferred"))
    due = page.materials_table.cellWidget(3, 4)
    assert isinstance(due, QDateEdit)
    due.setDate(QDate.currentDate().addDays(1))
    page.accept_case()
    qtbot.waitUntil(lambda: page.last_result is not None, timeout=10_000)
    result = page.last_result
    assert result is not None and result.case_number in page.result_label.text()
    assert page.id_edit.property("invalid") is False
    with station.runtime.local.unit_of_work() as uow:
        case = uow.session.scalars(select(Case)).one()
        assert case.status == "accepted" and case.window_number == 3
        deferred = uow.session.scalars(select(CaseMaterial).where(CaseMaterial.state == "deferred")).one()
        assert deferred.due_date == dt.date.today() + dt.timedelta(days=1)
        assert uow.session.scalars(select(IntakeDraft)).all() == []
