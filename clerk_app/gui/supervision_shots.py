"""Screenshots of the supervision screens (registered in ``clerk_app.gui.screenshots.SHOTS``):
the rating pad, a rectification being worked on, a 办不成事 case with its timer, the hall
monitor and the report page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate

from clerk_app.gui.pages.supervision import ComplaintsPage, RectificationsPage
from clerk_app.gui.pages.supervision_monitor import MonitorPage, ReportsPage
from clerk_app.gui.rating_pad import RatingPad
from clerk_app.services.complaints import Category, ComplaintInput, ComplaintService, Source
from clerk_app.services.queue import QueueService
from clerk_app.services.ratings import Cause, Level, RatingInput, RatingService
from clerk_app.services.supervision_demo import seed_supervision_history
from clerk_app.services.supervision_reports import PeriodKind

if TYPE_CHECKING:
    from clerk_app.gui.screenshots import ShotContext


def shot_rating_pad(ctx: ShotContext) -> list[Path]:
    main = ctx.main_window("wangxy", "Window#2026", 3)
    pad = RatingPad(main.ctx)
    pad.resize(1024, 768)
    pad.request_rating("A017", "居民身份证换领")
    pad.choose(Level.SATISFIED)
    path = ctx.save(pad, "rating-pad")
    pad.timeout.stop()
    pad.close()
    main.close()
    return [path]


def shot_rectification(ctx: ShotContext) -> list[Path]:
    clerk = ctx.station.auth.login(3, "wangxy", "Window#2026")
    service = RatingService(ctx.station.runtime)
    result = service.record(
        clerk,
        RatingInput(
            "A023", Level.DISSATISFIED, comment="排队时间太长，窗口说明不清楚", applicant_phone="13904710000"
        ),
    )
    main = ctx.main_window("chenjing", "Duty#2026", None)
    assert result.rectification is not None
    rect_id = result.rectification.id
    service.record_follow_up(main.ctx.session, rect_id, reached=True, note="已电话致歉，申请人同意再来办理")
    service.record_cause(main.ctx.session, rect_id, cause=Cause.EFFICIENCY, action="高峰时段增开两个窗口")
    page = main.show_page("rectifications")
    assert isinstance(page, RectificationsPage)
    main.show()
    ctx.settle()
    page.table.selectRow(0)
    path = ctx.save(main, "supervision-rectification")
    main.close()
    return [path]


def shot_complaint(ctx: ShotContext) -> list[Path]:
    main = ctx.main_window("chenjing", "Duty#2026", None)
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=7, seconds=42)
    ComplaintService(ctx.station.runtime, clock=lambda: earlier).register(
        main.ctx.session,
        ComplaintInput(
            request="公司注销需要的清税证明迟迟开不出来，已跑了两次",
            category=Category.CROSS_DEPARTMENT,
            source=Source.WINDOW,
            applicant_name="刘芳",
            applicant_phone="13912345678",
            window_number=5,
            department="市场监督管理局",
            matter_name="企业注销登记",
        ),
    )
    page = main.show_page("complaints")
    assert isinstance(page, ComplaintsPage)
    main.show()
    ctx.settle()
    page.table.selectRow(0)
    path = ctx.save(main, "supervision-complaint")
    main.close()
    return [path]


def shot_monitor(ctx: ShotContext) -> list[Path]:
    runtime = ctx.station.runtime
    seed_supervision_history(runtime.local, central=runtime.central)
    queue = QueueService(runtime.central)
    for category in "AAAAABBCDE":
        queue.issue(category)
    for window, username in ((3, "wangxy"), (9, "lijg"), (13, "zhangli")):
        clerk = ctx.station.auth.login(window, username, "Window#2026")
        queue.open_window(clerk)
        queue.call_next(clerk, f"shot-{window}")
    paused = ctx.station.auth.login(20, "zhaomin", "Window#2026")
    queue.open_window(paused)
    queue.pause(paused, "back_office")
    main = ctx.main_window("chenjing", "Duty#2026", None)
    page = main.show_page("monitor")
    assert isinstance(page, MonitorPage)
    path = ctx.save(main, "supervision-monitor")
    main.close()
    return [path]


def shot_reports(ctx: ShotContext) -> list[Path]:
    seed_supervision_history(ctx.station.runtime.local, central=ctx.station.runtime.central)
    main = ctx.main_window("chenjing", "Duty#2026", None)
    page = main.show_page("reports")
    assert isinstance(page, ReportsPage)
    page.kind_combo.setCurrentIndex(page.kind_combo.findData(PeriodKind.RANGE.value))
    today = QDate.currentDate()
    page.from_edit.setDate(today.addDays(-30))
    page.to_edit.setDate(today)
    page.run()
    path = ctx.save(main, "supervision-reports")
    main.close()
    return [path]


SUPERVISION_SHOTS = [shot_rating_pad, shot_rectification, shot_complaint, shot_monitor, shot_reports]
