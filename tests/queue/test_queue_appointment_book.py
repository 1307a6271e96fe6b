"""The supervisor's appointment book: a day's bookings with their states, cancelling one with a
reason (audited; refused once checked in; the kiosk then refuses it), and importing the booking
platform's export from real CSV (with and without BOM) and XLSX files: good rows in, bad rows
reported by row number, nothing imported twice. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from queue_helpers import StepClock, clerk
from sqlalchemy import select

from clerk_app.domain.identifiers import mod11_2_check_char
from clerk_app.security.roles import PermissionDenied, Role
from clerk_app.services import queue_appointments
from clerk_app.services.appointment_book import AppointmentBook
from clerk_app.services.errors import UserError
from clerk_app.services.queue import QueueService, seed_demo_queue
from clerk_app.services.queue_appointments import demo_code
from clerk_app.services.runtime import open_store
from clerk_app.store.models import AuditEntry
from clerk_app.store.models.queue import Appointment
from clerk_app.store.uow import Store

# 09:40 in the hall: the 09:00 slot is over, 09:30 is running, 10:00 is to come
MORNING = dt.datetime(2026, 11, 28, 1, 40, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 28)
SUPERVISOR = clerk(0, Role.SUPERVISOR)
HEADER = ["预约码", "姓名", "证件号码", "手机号", "业务类别", "预约日期", "时段开始", "时段结束"]


def _id(first17: str) -> str:
    return first17 + mod11_2_check_char(first17)


GOOD_ID_1 = _id("11010519880315003")
GOOD_ID_2 = _id("31010419920701004")
GOOD_ID_3 = _id("44010619751111005")
BAD_ID = GOOD_ID_1[:-1] + ("0" if GOOD_ID_1[-1] != "0" else "1")


def _hall(db_url: str) -> tuple[Store, AppointmentBook, QueueService, StepClock]:
    store = open_store(db_url, kind="central")
    seed_demo_queue(store, now=MORNING)  # the test's day, whatever the date today
    clock = StepClock(MORNING)
    return store, AppointmentBook(store, clock=clock), QueueService(store, clock=clock), clock


def _rows() -> list[list[str]]:
    """Three good rows (one by category name, one with a GB-style date and no end) and four bad."""
    return [
        HEADER,
        ["W26112801", "李雷", GOOD_ID_1, "138 0013 8000", "A", "2026-11-28", "10:00", "10:30"],
        ["W26112802", "韩梅梅", GOOD_ID_2, "", "企业开办", "2026/11/28", "9:30", ""],
        ["W26112803", "张伟", BAD_ID, "13800138001", "A", "2026-11-28", "11:00", "11:30"],
        ["W26112804", "王芳", GOOD_ID_3, "1380013", "Z", "2026-11-28", "11:00", "11:30"],
        ["W26112801", "李雷", GOOD_ID_1, "", "A", "2026-11-28", "10:00", "10:30"],  # code again
        ["", "", "", "", "", "", "", ""],  # blank: skipped, not an error
        ["W26112805", "刘洋", GOOD_ID_3, "", "C", "2026年11月29日", "14:00", "14:30"],
        ["W26112806", "赵敏", GOOD_ID_2, "", "B", "2026-11-27", "25:00", ""],
    ]


def _write_csv(path: Path, rows: list[list[str]], bom: bool) -> Path:
    text = "\r\n".join(",".join(r) for r in rows) + "\r\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def _count(store: Store) -> int:
    with store.unit_of_work() as uow:
        return len(uow.session.scalars(select(Appointment.code)).all())


def test_day_list_states_and_cancel(db_url: str) -> None:
    store, book, queue, _clock = _hall(db_url)
    queue.check_in(demo_code(DAY, 2))  # 林小芳 09:30 checks in
    states = {b.code: (b.state, b.state_label, b.ticket_number) for b in book.bookings(SUPERVISOR, DAY)}
    assert states[demo_code(DAY, 1)] == ("expired", "已过期", "")  # 09:00-09:30, now 09:40
    assert states[demo_code(DAY, 2)] == ("checked_in", "已签到", "C001")
    assert states[demo_code(DAY, 3)] == ("booked", "待签到", "")
    first = book.bookings(SUPERVISOR, DAY)[0]
    assert first.slot_text == "09:00-09:30" and first.id_masked == "110105********0030"

    with pytest.raises(UserError, match="请填写取消原因"):
        book.cancel(SUPERVISOR, demo_code(DAY, 3), "  ")
    with pytest.raises(PermissionDenied):
        book.cancel(clerk(9), demo_code(DAY, 3), "申请人来电取消")
    cancelled = book.cancel(SUPERVISOR, demo_code(DAY, 3).lower(), " 申请人来电取消 ")
    assert cancelled.state == "cancelled" and cancelled.state_label == "已取消"
    assert cancelled.cancel_reason == "申请人来电取消"
    no_show = book.cancel(SUPERVISOR, demo_code(DAY, 1), "逾期未到")  # expired: a no-show
    assert no_show.state == "cancelled"
    with pytest.raises(UserError, match="已经取消"):
        book.cancel(SUPERVISOR, demo_code(DAY, 3), "申请人来电取消")
    with pytest.raises(UserError, match=r"已签到（号码 C001），不能取消"):
        book.cancel(SUPERVISOR, demo_code(DAY, 2), "申请人来电取消")
    with pytest.raises(UserError, match="没有找到预约码"):
        book.cancel(SUPERVISOR, "Y00000000", "申请人来电取消")

    # the kiosk refuses a cancelled booking by its code and by the ID number
    with pytest.raises(UserError, match="该预约已取消，请直接选择业务取号"):
        queue.check_in(demo_code(DAY, 3))
    with pytest.raises(UserError, match="该预约已取消，请直接选择业务取号"):
        queue.check_in("350102198001010011")  # 王海燕's only booking today
    with store.unit_of_work() as uow:
        row = uow.session.scalar(select(Appointment).where(Appointment.code == demo_code(DAY, 3)))
        assert row is not None and row.ticket_id is None and row.cancelled_by == SUPERVISOR.display_name
        audit = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "queue.appointment_cancel").order_by(AuditEntry.at)
        ).all()
        assert [(a.target, a.detail["reason"]) for a in audit] == [
            (demo_code(DAY, 3), "申请人来电取消"),
            (demo_code(DAY, 1), "逾期未到"),
        ]
    store.dispose()


def test_a_cancelled_booking_is_restored_on_its_day_and_audited(db_url: str) -> None:
    """A booking cancelled by mistake comes back as it was (待签到, or 已过期 once its slot is
    over), the kiosk takes it again, and the audit keeps the cancellation it undid; one of a past
    day, or one not cancelled, is refused in plain words."""
    store, book, queue, _clock = _hall(db_url)
    book.cancel(SUPERVISOR, demo_code(DAY, 3), "预约信息有误")
    book.cancel(SUPERVISOR, demo_code(DAY, 1), "逾期未到")
    with pytest.raises(PermissionDenied):
        book.restore(clerk(9), demo_code(DAY, 3))
    restored = book.restore(SUPERVISOR, demo_code(DAY, 3).lower())
    assert (restored.state, restored.cancel_reason) == ("booked", "")
    assert book.restore(SUPERVISOR, demo_code(DAY, 1)).state == "expired"  # 09:00-09:30, now 09:40
    with pytest.raises(UserError, match="没有取消，不需要恢复"):
        book.restore(SUPERVISOR, demo_code(DAY, 3))
    with pytest.raises(UserError, match="没有找到预约码"):
        book.restore(SUPERVISOR, "Y00000000")
    assert queue.check_in(demo_code(DAY, 3)).issued.ticket.number  # the kiosk takes it again
    with store.unit_of_work() as uow:
        row = uow.session.scalar(select(Appointment).where(Appointment.code == demo_code(DAY, 3)))
        assert row is not None and row.state == "checked_in" and row.cancelled_by == ""
        audit = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "queue.appointment_restore").order_by(AuditEntry.at)
        ).all()
        assert [(a.target, a.detail["cancelled"]["reason"]) for a in audit] == [
            (demo_code(DAY, 3), "预约信息有误"),
            (demo_code(DAY, 1), "逾期未到"),
        ]
    # the next day, yesterday's cancellations stay as they are
    book.cancel(SUPERVISOR, demo_code(DAY, 4), "申请人来电取消")
    tomorrow = AppointmentBook(store, clock=lambda: MORNING + dt.timedelta(days=1))
    with pytest.raises(UserError, match="日期已过，不能恢复"):
        tomorrow.restore(SUPERVISOR, demo_code(DAY, 4))
    store.dispose()


@pytest.mark.parametrize("bom", [True, False])
def test_csv_import_reports_bad_rows_and_is_idempotent(db_url: str, tmp_path: Path, bom: bool) -> None:
    store, book, queue, _clock = _hall(db_url)
    before = _count(store)
    path = _write_csv(tmp_path / "预约导出.csv", _rows(), bom)
    report = book.import_file(SUPERVISOR, path)
    assert (report.rows, report.added, report.already) == (7, 3, 0)
    errors = {e.row: e.text for e in report.errors}
    assert sorted(errors) == [4, 5, 6, 9]
    assert errors[4].startswith("第 4 行：证件号码“") and "校验" in errors[4]
    assert "业务类别“Z”不是本大厅的取号类别" in errors[5] and "手机号“1380013”有误" in errors[5]
    assert errors[6] == "第 6 行：预约码 W26112801 与第 2 行重复"
    assert "预约日期 2026-11-27 已过" in errors[9] and "时段开始“25:00”无法识别" in errors[9]
    assert report.summary == "共 7 行：新导入 3 条，已导入过 0 条，有误 4 行。"
    assert _count(store) == before + 3

    again = book.import_file(SUPERVISOR, path)  # the same file: nothing twice
    assert (again.added, again.already, len(again.errors)) == (0, 3, 4)
    assert _count(store) == before + 3

    today = {b.code: b for b in book.bookings(SUPERVISOR, DAY)}
    assert today["W26112801"].slot_text == "10:00-10:30" and today["W26112801"].phone_masked == "138****8000"
    assert today["W26112802"].slot_text == "09:30-10:00" and today["W26112802"].category == "B"
    assert today["W26112802"].category_name == "企业开办"
    assert [b.code for b in book.bookings(SUPERVISOR, DAY + dt.timedelta(days=1))] == ["W26112805"]

    checked = queue.check_in(GOOD_ID_2)  # the imported booking checks in by ID number
    assert checked.code == "W26112802" and checked.issued.ticket.category == "B"
    with store.unit_of_work() as uow:
        audit = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "queue.appointment_import")
        ).all()
        assert [a.detail["added"] for a in audit] == [3, 0]
    store.dispose()


def test_xlsx_import_with_typed_cells(db_url: str, tmp_path: Path) -> None:
    store, book, _queue, _clock = _hall(db_url)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(
        ["预约编号", "申请人姓名", "证件类型", "身份证号", "联系电话", "业务类型", "预约日期", "开始时间"]
    )
    sheet.append(
        ["X1", "陈静", "居民身份证", GOOD_ID_1, 13900139000, "A", dt.date(2026, 11, 28), dt.time(15, 0)]
    )
    sheet.append(["X2", "Tom Lee", "414", "E12345678", None, "D", dt.datetime(2026, 11, 28), dt.time(16, 30)])
    sheet.append(["X3", "钱多多", "", GOOD_ID_3, None, "A", "明天", dt.time(16, 30)])
    sheet.append(["X4", "孙丽", "", GOOD_ID_2, None, "A", dt.date(2026, 11, 28), None])
    sheet.append(["X5", "Anna", "990", "A" * 40, None, "A", dt.date(2026, 11, 28), dt.time(16, 30)])
    path = tmp_path / "bookings.xlsx"
    workbook.save(path)
    report = book.import_file(SUPERVISOR, path)
    assert (report.rows, report.added, report.already) == (5, 2, 0)
    assert [e.text for e in report.errors] == [
        "第 4 行：预约日期“明天”无法识别（应为 2026-11-28 这样的日期）",
        "第 5 行：时段开始为空",
        "第 6 行：证件号码超过 32 位",
    ]
    today = {b.code: b for b in book.bookings(SUPERVISOR, DAY)}
    assert today["X1"].slot_text == "15:00-15:30" and today["X1"].phone_masked == "139****9000"
    assert today["X2"].name == "Tom Lee" and today["X2"].state == "booked"
    assert book.import_file(SUPERVISOR, path).added == 0
    store.dispose()


def test_import_refuses_a_file_it_cannot_read(db_url: str, tmp_path: Path) -> None:
    store, book, _queue, _clock = _hall(db_url)
    before = _count(store)
    no_code = _write_csv(
        tmp_path / "a.csv",
        [["姓名", "证件号码", "业务类别", "预约日期"], ["李雷", GOOD_ID_1, "A", "2026-11-28"]],
        True,
    )
    with pytest.raises(UserError, match="文件第 1 行缺少这些列：预约码、时段开始"):
        book.import_file(SUPERVISOR, no_code)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\xef\xbb\xbf")
    with pytest.raises(UserError, match="文件是空的"):
        book.import_file(SUPERVISOR, empty)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a workbook")
    with pytest.raises(UserError, match="无法读取这个 Excel 文件"):
        book.import_file(SUPERVISOR, broken)
    old_excel = tmp_path / "bookings.xls"
    old_excel.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(UserError, match=r"旧版 Excel（\.xls）文件，请在 Excel 中另存为 \.xlsx 或 CSV"):
        book.import_file(SUPERVISOR, old_excel)
    with pytest.raises(PermissionDenied):
        book.import_file(clerk(9), _write_csv(tmp_path / "b.csv", _rows(), False))
    assert _count(store) == before
    store.dispose()


def test_a_code_already_imported_with_other_contents_is_reported_not_changed(
    db_url: str, tmp_path: Path
) -> None:
    store, book, _queue, _clock = _hall(db_url)
    rows = _rows()[:3]
    book.import_file(SUPERVISOR, _write_csv(tmp_path / "first.csv", rows, False))
    rows[1] = ["W26112801", "李雷", GOOD_ID_1, "", "A", "2026-11-28", "11:00", "11:30"]  # moved slot
    rows[2][0] = demo_code(DAY, 4)  # a demo booking's code with other contents
    long_name = "b" * 220 + ".csv"  # longer than the audit entry's target: kept cut
    report = book.import_file(SUPERVISOR, _write_csv(tmp_path / long_name, rows, False))
    assert report.file_name == long_name
    assert report.added == 0 and [e.text for e in report.errors] == [
        "第 2 行：预约码 W26112801 已导入过，内容与本行不同，未更改",
        f"第 3 行：预约码 {demo_code(DAY, 4)} 已导入过，内容与本行不同，未更改",
    ]
    today = {b.code: b for b in book.bookings(SUPERVISOR, DAY)}
    assert today["W26112801"].slot_text == "10:00-10:30"
    store.dispose()


def test_an_unreachable_central_store_is_said_plainly() -> None:
    from clerk_app.store.engine import make_engine

    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2")
    book = AppointmentBook(Store(engine, "test-device", role="central"), clock=lambda: MORNING)
    with pytest.raises(UserError, match="中心库暂时无法连接"):
        book.bookings(SUPERVISOR, DAY)
    with pytest.raises(UserError, match="中心库暂时无法连接"):
        book.cancel(SUPERVISOR, "Y26112801", "逾期未到")
    engine.dispose()


def _in_thread(fn: Callable[[], object]) -> tuple[threading.Thread, dict[str, object]]:
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["result"] = fn()
        except Exception as exc:
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


@pytest.mark.postgres
def test_a_cancel_and_a_check_in_at_the_same_moment_do_not_both_win(pg_url: str) -> None:
    """Each locks the booking row: the second waits for the first and then sees its outcome."""
    store, book, queue, _clock = _hall(pg_url)
    # a check-in under way (its unit of work not yet committed): the cancel waits, then refuses
    with store.unit_of_work() as uow:
        queue_appointments.check_in(queue, uow, demo_code(DAY, 3), MORNING)
        thread, out = _in_thread(lambda: book.cancel(SUPERVISOR, demo_code(DAY, 3), "逾期未到"))
        thread.join(1.5)
        assert thread.is_alive()
        uow.commit()
    thread.join(15)
    assert isinstance(out.get("error"), UserError) and "已签到" in str(out["error"])
    # a cancel under way: the kiosk waits, then says the booking is cancelled
    with store.unit_of_work() as uow:
        appt = uow.session.scalar(
            select(Appointment).where(Appointment.code == demo_code(DAY, 4)).with_for_update()
        )
        assert appt is not None
        appt.state = "cancelled"
        uow.flush()
        thread, out = _in_thread(lambda: queue.check_in(demo_code(DAY, 4)))
        thread.join(1.5)
        assert thread.is_alive()
        uow.commit()
    thread.join(15)
    assert isinstance(out.get("error"), UserError) and "已取消" in str(out["error"])
    with store.unit_of_work() as uow:
        row = uow.session.scalar(select(Appointment).where(Appointment.code == demo_code(DAY, 4)))
        assert row is not None and row.state == "cancelled" and row.ticket_id is None
    store.dispose()


def test_no_shows_of_a_day_are_cancelled_together(db_url: str) -> None:
    store, book, queue, clock = _hall(db_url)
    assert book.cancel_no_shows(SUPERVISOR, DAY) == [demo_code(DAY, 1)]  # 09:00-09:30, now 09:40
    assert book.cancel_no_shows(SUPERVISOR, DAY) == []
    queue.check_in(demo_code(DAY, 2))  # 09:30-10:00 comes in time
    clock.now = dt.datetime(2026, 11, 28, 2, 45, tzinfo=dt.UTC)  # 10:45: 10:00-10:30 is over
    with pytest.raises(PermissionDenied):
        book.cancel_no_shows(clerk(9), DAY)
    assert book.cancel_no_shows(SUPERVISOR, DAY) == [demo_code(DAY, 3)]
    states = {b.code: (b.state, b.cancel_reason) for b in book.bookings(SUPERVISOR, DAY)}
    assert states[demo_code(DAY, 1)] == states[demo_code(DAY, 3)] == ("cancelled", "逾期未到")
    assert states[demo_code(DAY, 2)] == ("checked_in", "")
    assert states[demo_code(DAY, 4)] == ("booked", "")  # 10:30-11:00 still running
    with store.unit_of_work() as uow:
        targets = uow.session.scalars(
            select(AuditEntry.target).where(AuditEntry.action == "queue.appointment_cancel")
        ).all()
        assert sorted(targets) == [demo_code(DAY, 1), demo_code(DAY, 3)]
    store.dispose()
