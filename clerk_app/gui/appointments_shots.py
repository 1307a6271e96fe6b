"""Screenshot of the 预约管理 page (registered in ``clerk_app.gui.screenshots.SHOTS``): the demo
day's bookings with one checked in at the kiosk and one cancelled, after importing a booking
export that has one bad row."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from clerk_app.domain.halltime import hall_now
from clerk_app.gui.pages.appointments import AppointmentsPage
from clerk_app.services.appointment_book import AppointmentBook
from clerk_app.services.errors import UserError
from clerk_app.services.queue import QueueService
from clerk_app.services.queue_appointments import demo_code

if TYPE_CHECKING:
    from clerk_app.gui.screenshots import ShotContext

#: the rows of the demo export: the second has a wrong check digit
_EXPORT = (
    "预约码,姓名,证件号码,手机号,业务类别,预约日期,时段开始,时段结束\r\n"
    "W{d:%y%m%d}01,刘洋,110105199003070017,13912345678,A,{d:%Y-%m-%d},16:00,16:30\r\n"
    "W{d:%y%m%d}02,何静,110105199003070016,,B,{d:%Y-%m-%d},16:30,17:00\r\n"
    "W{d:%y%m%d}03,黄志强,440106198503150038,13700001111,企业开办,{d:%Y-%m-%d},17:00,17:30\r\n"
)


def shot_appointments(ctx: ShotContext) -> list[Path]:
    runtime = ctx.station.runtime
    today = hall_now().date()
    main = ctx.main_window("chenjing", "Duty#2026", None)
    queue = QueueService(runtime.central)
    for n in (1, 2):  # the demo's first bookings check in (late ones get walk-in tickets)
        with contextlib.suppress(UserError):  # too early in the day for the kiosk: it stays 待签到
            queue.check_in(demo_code(today, n))
    AppointmentBook(runtime.central).cancel(main.ctx.session, demo_code(today, 4), "申请人来电取消")
    page = main.show_page("appointments")
    assert isinstance(page, AppointmentsPage)
    main.show()
    with tempfile.TemporaryDirectory(prefix="clerk-shot-") as folder:
        export = Path(folder) / "预约导出.csv"
        export.write_bytes(b"\xef\xbb\xbf" + _EXPORT.format(d=today).encode("utf-8"))
        page.import_file(export)
        ctx.settle()
    path = ctx.save(main, "supervision-appointments")
    main.close()
    return [path]


APPOINTMENTS_SHOTS = [shot_appointments]
