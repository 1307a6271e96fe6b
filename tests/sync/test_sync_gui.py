"""Sync as the clerk sees it (offscreen Qt): the status bar indicator run by the background sync
thread, progress for a large sync, and the Sync page's rejections with re-apply and dismiss."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sync_helpers import add_hall, outbox

from clerk_app.gui.main_window import MainWindow
from clerk_app.gui.pages import PAGES
from clerk_app.gui.pages.sync import SyncPage
from clerk_app.gui.sync_status import SyncController, SyncIndicator
from clerk_app.gui.workstation import Workstation
from clerk_app.security.roles import Role
from clerk_app.services.auth import AuthService
from clerk_app.services.demo import DEMO_USERS
from clerk_app.services.runtime import open_store
from clerk_app.store.engine import sqlite_url
from clerk_app.store.models import AuditEntry, Department, SyncCounter, SyncRejection
from clerk_app.store.uow import Store
from clerk_app.sync import client
from clerk_app.sync.protocol import SCHEMA_VERSION


def _open(qtbot: QtBot, station: Workstation, username: str = "wangxy") -> MainWindow:
    user = next(u for u in DEMO_USERS if u.username == username)
    session = AuthService(station.runtime).login(3, user.username, user.password)
    main = station.open_main(session)
    qtbot.addWidget(main)
    return main


def _stores(tmp_path: Path, name: str) -> tuple[Store, Store]:
    central = open_store(sqlite_url(tmp_path / f"{name}-central.sqlite"), kind="central")
    local = open_store(sqlite_url(tmp_path / f"{name}-local.sqlite"))
    return local, central


def test_sync_page_is_there_for_clerks_and_supervisors() -> None:
    assert SyncPage in PAGES
    assert SyncPage.visible_to(Role.CLERK) and SyncPage.visible_to(Role.SUPERVISOR)


def test_status_bar_goes_online_and_a_local_change_is_pushed(qtbot: QtBot, station: Workstation) -> None:
    main = _open(qtbot, station)
    assert isinstance(main.show_page("sync"), SyncPage)
    qtbot.waitUntil(lambda: "中心库：在线" in main.central_label.text(), timeout=10_000)
    assert main.central_label.objectName() == "statusOnline"
    assert "上次同步" in main.central_label.text()
    rt = station.runtime
    add_hall(rt.local, "NEW-1", "新大厅")
    assert outbox(rt.local) >= 1
    main.ctx.tasks.db(lambda: None)  # a database task finished: the sync wakes shortly after
    qtbot.waitUntil(lambda: outbox(rt.local) == 0, timeout=10_000)
    with Session(rt.central.engine) as s:
        assert s.scalar(select(SyncCounter.value).where(SyncCounter.name == "change_log"))
    qtbot.waitUntil(lambda: main.sync.status.waiting == 0 and main.sync.status.state == "online")


def test_offline_is_shown_and_the_clerk_keeps_working(qtbot: QtBot, tmp_path: Path) -> None:
    local = open_store(sqlite_url(tmp_path / "local.sqlite"))
    missing = Store(open_store(sqlite_url(tmp_path / "c.sqlite"), kind="central").engine, "c", role="central")
    missing.engine.dispose()
    from clerk_app.store.engine import make_engine

    unreachable = Store(
        make_engine(sqlite_url(tmp_path / "no" / "such" / "central.sqlite")), "c", role="central"
    )
    add_hall(local, "OFF-1")
    label = QLabel()
    controller = SyncController(
        _runtime_stub(), opener=lambda: (local, unreachable), attempts=1, initial_wait=0.01, interval=60
    )
    SyncIndicator(controller, label, embedded=False)
    qtbot.addWidget(label)
    controller.start()
    try:
        qtbot.waitUntil(lambda: "离线" in label.text(), timeout=10_000)
        assert "待上传 1 条" in label.text() and label.objectName() == "statusOffline"
        assert controller.status.last_error
    finally:
        controller.stop()
    assert not controller.running
    assert outbox(local) == 1  # nothing lost


def test_a_too_old_workstation_is_told_to_upgrade(qtbot: QtBot, tmp_path: Path) -> None:
    local, central = _stores(tmp_path, "old")
    with Session(central.engine) as s, s.begin():
        s.execute(update(SyncCounter).where(SyncCounter.name == "schema").values(value=SCHEMA_VERSION + 2))
    add_hall(local, "OLD-1")
    label = QLabel()
    controller = SyncController(_runtime_stub(), opener=lambda: (local, central), attempts=1, interval=60)
    SyncIndicator(controller, label, embedded=False)
    qtbot.addWidget(label)
    controller.start()
    try:
        qtbot.waitUntil(lambda: "需要升级" in label.text(), timeout=10_000)
    finally:
        controller.stop()
    assert outbox(local) == 1


def test_a_large_sync_shows_progress_and_clock_offset(qtbot: QtBot, tmp_path: Path) -> None:
    local, central = _stores(tmp_path, "big")
    with local.unit_of_work() as uow:
        from clerk_app.store.models import Hall

        for i in range(1200):
            uow.session.add(Hall(code=f"P{i}", name=f"大厅{i}", authority="审批局"))
        uow.commit()
    label = QLabel()
    controller = SyncController(_runtime_stub(), opener=lambda: (local, central), attempts=1, interval=60)
    indicator = SyncIndicator(controller, label, embedded=False)
    qtbot.addWidget(label)
    seen: list[tuple[str, int, int]] = []
    shown: list[bool] = []
    controller.progress.connect(lambda p, d, t: seen.append((p, d, t)))
    controller.progress.connect(lambda *_a: shown.append(not indicator.progress_bar.isHidden()))
    controller.start()
    try:
        qtbot.waitUntil(lambda: controller.status.state == "online", timeout=20_000)
    finally:
        controller.stop()
    assert ("push", client.FIRST_BATCH, 1200) in seen and ("push", 1200, 1200) in seen  # one batch, then all
    assert any(shown) and indicator.progress_bar.isHidden()
    assert outbox(local) == 0
    # the clock offset is reported when it is large
    from dataclasses import replace

    indicator.show_status(replace(controller.status, clock_skew_ms=-300_000, clock_warning=True))
    assert "本机时钟偏差 -300 秒" in label.text()
    assert "-300.0" in label.toolTip()


def _conflicts(station: Workstation, tmp_path: Path) -> list[Department]:
    """Two departments edited on this workstation and, first, on another one: two rejections."""
    rt = station.runtime
    other = open_store(sqlite_url(tmp_path / "other.sqlite"))
    try:
        client.pull(other, rt.central)
        with Session(rt.local.engine) as s:
            targets = list(s.scalars(select(Department).order_by(Department.code).limit(2)))
        for store, name in ((other, "甲"), (rt.local, "乙")):
            with store.unit_of_work() as uow:
                for dept in targets:
                    row = uow.session.get(Department, dept.id)
                    assert row is not None
                    row.name = f"{dept.name}{name}"
                uow.commit()
        client.sync_round(other, rt.central)
        report = client.sync_round(rt.local, rt.central)
        assert report.push.rejected == 2
    finally:
        other.dispose()
    return targets


def test_sync_page_lists_rejections_reapplies_and_dismisses(
    qtbot: QtBot, station: Workstation, tmp_path: Path
) -> None:
    targets = _conflicts(station, tmp_path)
    rt = station.runtime
    main = _open(qtbot, station)
    page = main.show_page("sync")
    assert isinstance(page, SyncPage)
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=5000)
    assert "先到的修改" in page.table.item(0, 2).text()
    assert "乙" in page.table.item(0, 3).text() and "甲" in page.table.item(0, 3).text()
    assert page.table.item(0, 4).text() == "本工作站"
    assert not page.reapply_button.isEnabled()
    page.table.selectRow(0)
    assert page.reapply_button.isEnabled() and page.dismiss_button.isEnabled()
    first = page.rows[0]
    page.reapply_button.click()
    qtbot.waitUntil(lambda: page.table.rowCount() == 1, timeout=5000)
    page.table.selectRow(0)
    page.dismiss_button.click()
    qtbot.waitUntil(lambda: page.table.rowCount() == 0, timeout=5000)
    assert page.empty_label.isVisibleTo(page)
    with Session(rt.local.engine) as s:
        statuses = dict(s.execute(select(SyncRejection.id, SyncRejection.status)).all())
        actions = set(s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("sync.rejection.%"))))
    assert statuses[first.id] == "reapplied" and sorted(statuses.values()) == ["dismissed", "reapplied"]
    assert actions == {"sync.rejection.reapply", "sync.rejection.dismiss"}
    # the re-applied value goes up with the next (woken) round and wins this time
    with Session(rt.local.engine) as s:
        rejected = s.get(SyncRejection, first.id)
        assert rejected is not None
        row_id = rejected.row_id
    wanted = next(f"{d.name}乙" for d in targets if d.id == row_id)

    def central_name() -> str | None:
        with Session(rt.central.engine) as s:
            return s.scalar(select(Department.name).where(Department.id == row_id))

    qtbot.waitUntil(lambda: central_name() == wanted, timeout=15_000)
    qtbot.waitUntil(lambda: outbox(rt.local) == 0, timeout=10_000)


def _runtime_stub() -> object:
    """The controller needs a runtime only for its default store opener."""
    return object()
