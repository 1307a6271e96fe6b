"""Report figures against hand-computed values on a small fixed data set (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from sqlalchemy import select
from supervision_helpers import Clock, open_demo_runtime, session_for

from clerk_app.domain.catalogue import Catalogue, Department, Matter, MatterType, build_catalogue
from clerk_app.domain.deadlines import TimeLimit
from clerk_app.security.roles import PermissionDenied
from clerk_app.services.complaints import (
    Category,
    ComplaintInput,
    ComplaintService,
    Complexity,
    Source,
    Status,
)
from clerk_app.services.errors import UserError
from clerk_app.services.queue import QueueService
from clerk_app.services.queue_stats import QueueStats, summarise
from clerk_app.services.ratings import LEVEL_COLOURS, Cause, Level, RatingInput, RatingService
from clerk_app.services.runtime import Runtime
from clerk_app.services.supervision_reports import (
    Period,
    PeriodKind,
    SupervisionReports,
    monitor_snapshot,
    queue_tables,
    report_csv,
)
from clerk_app.services.xlsx import column_name, write_xlsx
from clerk_app.store.models import User
from clerk_app.store.models.cases import Applicant, Case

UTC = dt.UTC
WEEK = Period.of(PeriodKind.WEEK, dt.date(2025, 10, 1))  # Monday 29 September – Sunday 5 October
LATER = dt.datetime(2025, 10, 29, 2, 0, tzinfo=UTC)  # 29 October, 10:00 in the hall


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def runtime(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    yield from open_demo_runtime(tmp_path / "data", db_url)


def _seed(runtime: Runtime) -> None:
    clock = Clock(at(9, 30, 2))
    ratings = RatingService(runtime, clock=clock)
    wang, li = session_for(runtime, "wangxy", 3), session_for(runtime, "lijg", 4)
    supervisor = session_for(runtime, "chenjing", None)
    ratings.record(wang, RatingInput("t1", Level.VERY_SATISFIED))
    ratings.record(wang, RatingInput("t2", Level.SATISFIED))
    first_bad = ratings.record(wang, RatingInput("t3", Level.DISSATISFIED)).rectification
    ratings.record(li, RatingInput("t4", Level.BASICALLY_SATISFIED))
    ratings.record(li, RatingInput("t5", Level.VERY_DISSATISFIED))
    assert first_bad is not None
    ratings.record_follow_up(supervisor, first_bad.id, reached=True, note="已沟通")
    ratings.record_cause(supervisor, first_bad.id, cause=Cause.ATTITUDE, action="批评教育")
    ratings.close(supervisor, first_bad.id)
    clock.now = at(10, 6, 2)  # the next Monday: outside the week
    ratings.record(wang, RatingInput("t6", Level.SATISFIED))

    complaints = ComplaintService(runtime, clock=clock)
    clock.now = at(9, 30, 2)
    a = complaints.register(supervisor, ComplaintInput("a", Category.MATERIALS))
    clock.now = at(9, 30, 2, 15)
    complaints.hand_over(supervisor, a.id, department="税务局", complexity=Complexity.COMPLEX)
    clock.now = at(9, 30, 3)
    b = complaints.register(supervisor, ComplaintInput("b", Category.MATERIALS))
    clock.now = at(9, 30, 3, 30)
    complaints.resolve(supervisor, b.id, "当场解决")
    clock.now = at(10, 1, 1)
    c = complaints.register(
        supervisor, ComplaintInput("c", Category.POLICY, Source.HOTLINE, hotline_ref="h1")
    )
    clock.now = at(10, 1, 1, 5)
    complaints.negative_answer(supervisor, c.id, "依法不能办理，已说明法律依据")

    with runtime.local.unit_of_work() as uow:
        applicant = Applicant(kind="person", id_type="111", id_number="11010519491231002X", name="张三")
        uow.session.add(applicant)
        uow.session.flush()
        rows = [
            ("C1", ["M1"], 3, "王晓燕", at(9, 30, 2), at(10, 10, 9), at(10, 9, 3)),
            ("C2", ["M1", "M2"], 3, "王晓燕", at(9, 30, 3), at(10, 9, 9), at(10, 10, 3)),
            ("C3", ["M2"], 4, "李建国", at(10, 2, 2), at(10, 14, 9), None),
            ("C4", ["M3"], 4, "李建国", at(10, 5, 2), None, None),
            ("C5", ["M1"], 4, "李建国", at(10, 6, 2), at(10, 20, 9), None),
        ]
        for number, codes, window, clerk, received, due, decided in rows:
            uow.session.add(
                Case(
                    case_number=number,
                    applicant_id=applicant.id,
                    matter_codes=codes,
                    status="approved" if decided else "in_review",
                    received_at=received,
                    accepted_at=received,
                    promised_due=due,
                    decided_at=decided,
                    clerk_id=uuid.uuid4(),
                    clerk_name=clerk,
                    window_number=window,
                )
            )
        uow.commit()


def test_periods() -> None:
    assert (WEEK.first, WEEK.last) == (dt.date(2025, 9, 29), dt.date(2025, 10, 5))
    month = Period.of(PeriodKind.MONTH, dt.date(2024, 2, 10))
    assert (month.first, month.last) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    day = Period.of(PeriodKind.DAY, dt.date(2025, 12, 31))
    assert day.start == dt.datetime(2025, 12, 30, 16, 0, tzinfo=UTC)
    assert day.end == dt.datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    with pytest.raises(UserError, match="结束日期"):
        Period.of(PeriodKind.RANGE, dt.date(2025, 10, 2), dt.date(2025, 10, 1))


def test_week_report_matches_hand_computed_figures(runtime: Runtime) -> None:
    _seed(runtime)
    supervisor = session_for(runtime, "chenjing", None)
    report = SupervisionReports(runtime, clock=lambda: LATER).report(supervisor, WEEK)
    # 好差评: five ratings in the week (t6 is the next Monday), one of each level
    assert report.ratings == 5 and dict(report.levels) == dict.fromkeys(Level, 1)
    assert (report.good, report.bad, report.satisfaction_rate) == (3, 2, 0.6)
    assert [(g.key, g.total, g.good, g.bad) for g in report.by_window] == [("3", 3, 2, 1), ("4", 2, 1, 1)]
    assert [(g.key, g.total) for g in report.by_clerk] == [("李建国", 2), ("王晓燕", 3)]
    # two rectifications: t3 closed on 30 September (due 28 October), t5 open and overdue on 29 October
    assert (report.rectifications, report.rect_open, report.rect_overdue) == (2, 1, 1)
    assert (report.rect_closed_on_time, report.rect_closed_late) == (1, 0)
    # 办不成事: a handed over after 15 min, b resolved after 30 min, c negative after 5 min
    assert report.complaints == 3 and report.complaints_in_target == 2 and report.negative_answers == 1
    assert dict(report.complaints_by_category)[Category.MATERIALS] == 2
    assert dict(report.complaints_by_category)[Category.POLICY] == 1
    statuses = dict(report.complaints_by_status)
    assert (statuses[Status.HANDED_OVER], statuses[Status.RESOLVED], statuses[Status.NEGATIVE]) == (1, 1, 1)
    assert dict(report.complaints_by_source) == {Source.WINDOW: 2, Source.PAD: 0, Source.HOTLINE: 1}
    # cases: C1 on time, C2 decided late, C3 past its promised time, C4 has none, C5 outside the week
    assert report.cases == 4
    assert [(g.key, g.received, g.decided) for g in report.cases_by_matter] == [
        ("M1", 2, 2),
        ("M2", 2, 1),
        ("M3", 1, 0),
    ]
    assert [(g.key, g.received, g.decided) for g in report.cases_by_window] == [("3", 2, 2), ("4", 2, 0)]
    assert (report.cases_on_time, report.cases_late) == (1, 2)
    assert report.on_time_rate == pytest.approx(1 / 3)
    # a day with nothing has no rates rather than a division by zero
    empty = SupervisionReports(runtime, clock=lambda: LATER).report(
        supervisor, Period.of(PeriodKind.DAY, dt.date(2025, 9, 1))
    )
    assert empty.ratings == 0 and empty.satisfaction_rate is None and empty.on_time_rate is None


def _small_catalogue() -> Catalogue:
    """M1 is the 税务局's, M2 the 公安局's; M3 is in no catalogue."""

    def matter(code: str, name: str, department: str) -> Matter:
        limit = TimeLimit(5)
        return Matter(code, code, name, MatterType.LICENCE, department, TimeLimit(20), limit)

    return build_catalogue(
        [Department("SW", "税务局"), Department("GA", "公安局")],
        [matter("M1", "发票申领", "SW"), matter("M2", "居住证签发", "GA")],
    )


def test_department_report_matches_hand_computed_figures(runtime: Runtime) -> None:
    _seed(runtime)
    clock = Clock(at(10, 1, 2))
    wang = session_for(runtime, "wangxy", 3)
    ratings = RatingService(runtime, clock=clock)
    ratings.record(wang, RatingInput("m1-a", Level.VERY_SATISFIED, matter_name="发票申领"))
    ratings.record(wang, RatingInput("m1-b", Level.DISSATISFIED, matter_name="发票申领"))
    ratings.record(wang, RatingInput("m2-a", Level.SATISFIED, matter_name="居住证签发"))
    ratings.record(wang, RatingInput("x-a", Level.SATISFIED, matter_name="不在目录的事项"))
    supervisor = session_for(runtime, "chenjing", None)
    report = SupervisionReports(runtime, clock=lambda: LATER, catalogue=_small_catalogue()).report(
        supervisor, WEEK
    )
    # cases of the week: C1 [M1] on time, C2 [M1, M2] decided late (counts for both departments),
    # C3 [M2] undecided past its promise, C4 [M3] without a promise (not judged), C5 next week.
    # 税务局: C1, C2 → 2 received, 2 decided, 1 on time, 1 late, 50 %; ratings 1 of 2 good.
    # 公安局: C2, C3 → 2 received, 1 decided, 0 on time, 2 late, 0 %; ratings 1 of 1 good.
    # "-": C4 → 1 received, none judged; the rating of the unknown matter, 1 of 1 good.
    rows = [
        (g.key, g.received, g.decided, g.on_time, g.late, g.on_time_rate, g.ratings, g.good)
        for g in report.by_department
    ]
    assert rows == [
        ("税务局", 2, 2, 1, 1, 0.5, 2, 1),
        ("公安局", 2, 1, 0, 2, 0.0, 1, 1),
        ("-", 1, 0, 0, 0, None, 1, 1),
    ]
    assert report.by_department[0].satisfaction_rate == 0.5
    # the export carries the same table
    rows_csv = list(csv.reader(io.StringIO(report_csv(report).decode("utf-8-sig"))))
    assert ["税务局", "2", "2", "1", "1", "50.0%", "2", "50.0%"] in rows_csv


def _rg(colour: str) -> str:
    """The fill-colour operator reportlab writes for ``#rrggbb``."""
    parts = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    return " ".join(f"{p:.6f}".rstrip("0").lstrip("0") or "0" for p in parts) + " rg"


def test_report_pdf_has_the_text_and_the_charts(runtime: Runtime, tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    _seed(runtime)
    supervisor = session_for(runtime, "chenjing", None)
    data = SupervisionReports(runtime, clock=lambda: LATER).export_pdf(supervisor, WEEK)
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    expected = ["好差评与办件统计报表", "统计期间：2025-09-29 — 2025-10-05", "评价等级分布"]
    expected += ["办不成事案件类别", "材料或条件问题", "政策无规定或有冲突", "工作人员评价", "王晓燕", "部门"]
    for words in expected:
        assert words in text, words
    assert re.search(r"满意率\s+60\.0%", text) and re.search(r"按时办结率\s+33\.3%", text)
    # the legend of the pie: every level with its count and share
    for level in Level:
        assert re.search(rf"{level.value}\s+1\s+20\.0%", text), level
    reader = pypdf.PdfReader(io.BytesIO(data))
    first = reader.pages[0]
    fonts = [f.get_object()["/BaseFont"] for f in first["/Resources"]["/Font"].values()]
    assert fonts and all("+" in name for name in fonts)  # subsets embedded, no standard font
    drawn = first.get_contents().get_data().decode("latin-1")
    # the pie: one wedge per level in the level's colour (Bézier curves); the bars: two categories
    for colour in LEVEL_COLOURS.values():
        assert _rg(colour) in drawn, colour
    assert len(re.findall(r" c h\s+B\*", drawn)) >= 5  # closed, filled curved paths
    assert drawn.count(_rg("#0f3d6e")) >= 2


def test_report_csv_and_roles(runtime: Runtime) -> None:
    _seed(runtime)
    supervisor = session_for(runtime, "chenjing", None)
    reports = SupervisionReports(runtime, clock=lambda: LATER)
    data = reports.export_csv(supervisor, WEEK)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[:3] == [["概况"], ["项目", "数值"], ["统计期间", "2025-09-29 — 2025-10-05"]]
    assert ["办件（事项）"] in rows and ["M1", "2", "2"] in rows
    assert ["满意率", "60.0%"] in rows and ["差评数", "2"] in rows and ["按时办结率", "33.3%"] in rows
    with pytest.raises(PermissionDenied):
        reports.report(session_for(runtime, "wangxy", 3), WEEK)


def test_monitor_snapshot_lists_what_needs_the_supervisor(runtime: Runtime) -> None:
    _seed(runtime)
    supervisor = session_for(runtime, "chenjing", None)
    waiting = ComplaintService(runtime, clock=lambda: LATER - dt.timedelta(minutes=25))
    waiting.register(supervisor, ComplaintInput("d", Category.OTHER))
    snapshot = monitor_snapshot(runtime, supervisor, LATER)
    assert [c.request for c in snapshot.complaints] == ["a", "b", "c", "d"]
    assert snapshot.complaints_over_target(LATER) == 1
    assert [(r.service_ref, r.overdue) for r in snapshot.rectifications] == [("t5", True)]
    assert snapshot.rectifications_overdue == 1
    # C3 and C5 are past their promised times on 29 October; on 19 October C5 is due within a day
    assert [(c.case_number, c.overdue) for c in snapshot.due_cases] == [("C3", True), ("C5", True)]
    soon = monitor_snapshot(runtime, supervisor, at(10, 19, 12))
    assert [(c.case_number, c.overdue) for c in soon.due_cases] == [("C3", True), ("C5", False)]
    with pytest.raises(PermissionDenied):
        monitor_snapshot(runtime, session_for(runtime, "wangxy", 3), LATER)


def test_report_xlsx_keeps_chinese_text_and_numbers(runtime: Runtime) -> None:
    _seed(runtime)
    supervisor = session_for(runtime, "chenjing", None)
    data = SupervisionReports(runtime, clock=lambda: LATER).export_xlsx(supervisor, WEEK)
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        assert book.testzip() is None
        for name in book.namelist():  # every part is well-formed XML
            ElementTree.fromstring(book.read(name))
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
        names = [s.get("name") for s in workbook.iterfind("m:sheets/m:sheet", ns)]
        assert names[:4] == ["概况", "窗口评价", "工作人员评价", "办不成事"] and len(names) == 12
        assert names[-4:] == ["排队概况", "排队（类别）", "排队（窗口）", "排队（工作人员）"]
        types = book.read("[Content_Types].xml").decode()
        assert all(f"/xl/worksheets/sheet{n}.xml" in types for n in range(1, 13))
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
        shared = [
            "".join(t.text or "" for t in item.iterfind(".//m:t", ns))
            for item in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).iterfind("m:si", ns)
        ]
    cells = {}
    for cell in sheet.iterfind(".//m:c", ns):
        value = cell.find("m:v", ns)
        text = value.text if value is not None else None
        if cell.get("t") == "s" and text is not None:  # text lives in the shared-strings table
            text = shared[int(text)]
        cells[cell.get("r")] = (text, cell)
    assert cells["A1"][0] == "项目" and cells["A1"][1].get("s") == "1"  # the bold header
    rows = {cells[f"A{n}"][0]: cells.get(f"B{n}", (None, None)) for n in range(2, 20) if f"A{n}" in cells}
    assert rows["统计期间"][0] == "2025-09-29 — 2025-10-05"
    total = rows["评价总数"]
    assert total[0] == "5" and total[1].get("t") is None  # a number, not text
    assert rows["满意率"][0] == "60.0%" and rows["非常不满意"][0] == "1"
    assert "王晓燕" in shared and "满意率" in shared


def test_report_xlsx_opens_in_a_spreadsheet_reader(runtime: Runtime) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    _seed(runtime)
    supervisor = session_for(runtime, "chenjing", None)
    data = SupervisionReports(runtime, clock=lambda: LATER).export_xlsx(supervisor, WEEK)
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert book.sheetnames[:4] == ["概况", "窗口评价", "工作人员评价", "办不成事"]
    summary = {row[0]: row[1] for row in book["概况"].iter_rows(values_only=True) if row[0]}
    assert summary["评价总数"] == 5 and summary["满意率"] == "60.0%"
    clerks = [row[0] for row in book["工作人员评价"].iter_rows(min_row=2, values_only=True)]
    assert "王晓燕" in clerks
    assert next(book["部门"].iter_rows(max_row=1, values_only=True))[:3] == ("部门", "收件", "已办结")


def test_xlsx_leaves_nothing_in_the_temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    write_xlsx([("工作人员", [["姓名"], ["王晓燕"]] * 50)])
    assert list(tmp_path.iterdir()) == []


def test_xlsx_writer_details() -> None:
    assert [column_name(n) for n in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]
    data = write_xlsx([("a/b:c", [["x", None, " 前后空格 ", "bad\x01char"]]), ("A/B:C", [[1.5, True]])])
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        workbook = book.read("xl/workbook.xml").decode()
        first = book.read("xl/worksheets/sheet1.xml").decode()
        second = book.read("xl/worksheets/sheet2.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    assert 'name="a_b_c"' in workbook and 'name="A_B_C (2)"' in workbook
    assert '<t xml:space="preserve"> 前后空格 </t>' in strings and "badchar" in strings
    assert 'r="B1"' not in first and 't="s"' in first
    assert "<v>1.5</v>" in second and "<v>1</v>" in second
    with pytest.raises(ValueError, match="sheet"):
        write_xlsx([])


def test_queue_figures_join_the_report_exports(runtime: Runtime) -> None:
    now = [at(9, 30, 1)]  # 09:00 in the hall
    queue = QueueService(runtime.central, clock=lambda: now[0])
    queue.issue("A")
    queue.issue("A")
    clerk = session_for(runtime, "wangxy", 3)
    queue.open_window(clerk)
    for call, start, finish in ((5, 6, 16), (20, 21, 26)):  # waits 5 and 20, services 10 and 5 minutes
        now[0] = at(9, 30, 1, call)
        ticket = queue.call_next(clerk, f"call-{call}")
        assert ticket is not None
        now[0] = at(9, 30, 1, start)
        queue.start(clerk, ticket.id, f"start-{call}")
        now[0] = at(9, 30, 1, finish)
        queue.finish(clerk, ticket.id, f"finish-{call}")
    supervisor = session_for(runtime, "chenjing", None)
    reports = SupervisionReports(runtime, clock=lambda: LATER)
    stats = reports.queue_stats(supervisor, WEEK)
    assert stats is not None and stats.tickets == 2
    tables = dict(queue_tables(stats))
    # nearest-rank 90th percentile of two values is the larger one
    assert tables["排队（类别）"][1] == ["A", 2, 12.5, 20.0, 7.5, 10.0, 0]
    assert tables["排队（窗口）"][1][:2] == ["3", 2] and tables["排队（工作人员）"][1][0] == "王晓燕"
    assert ["取号数", 2] in tables["排队概况"]
    rows = list(csv.reader(io.StringIO(reports.export_csv(supervisor, WEEK).decode("utf-8-sig"))))
    assert ["排队（类别）"] in rows and ["A", "2", "12.5", "20.0", "7.5", "10.0", "0"] in rows
    with zipfile.ZipFile(io.BytesIO(reports.export_xlsx(supervisor, WEEK))) as book:
        assert len([n for n in book.namelist() if n.startswith("xl/worksheets/")]) == 12
    other_week = reports.queue_stats(supervisor, Period.of(PeriodKind.WEEK, dt.date(2025, 10, 8)))
    assert other_week is not None and other_week.tickets == 0


def _reference_stats(runtime: Runtime, period: Period) -> QueueStats:
    """The statistics from every history row, as ``queue_stats.summarise`` defines them."""
    from clerk_app.store.models.queue import Ticket, TicketEvent

    with runtime.central.unit_of_work() as uow:
        tickets = [
            (t.id, t.category, t.issued_at)
            for t in uow.session.scalars(
                select(Ticket).where(Ticket.service_day >= period.first, Ticket.service_day <= period.last)
            )
        ]
        events = [
            (e.ticket_id, e.event, e.at, e.window_number, e.clerk_id, int(e.detail.get("version", 0)))
            for e in uow.session.scalars(select(TicketEvent))
        ]
        names = {u.id: u.display_name for u in uow.session.scalars(select(User))}
    return summarise(tickets, events, period.first, period.last, names)


def _busy_morning(runtime: Runtime) -> None:  # noqa: PLR0915 - one scenario, step by step
    """Eight tickets through every kind of step: plain, recalled, no-show, transferred and back,
    parked and called back, called only, waiting."""
    now = [at(9, 30, 1)]

    def tick(minutes: int) -> None:
        now[0] += dt.timedelta(minutes=minutes)

    queue = QueueService(runtime.central, clock=lambda: now[0])
    for category in "AAAAAAAB":
        queue.issue(category)
        tick(1)
    wang, li = session_for(runtime, "wangxy", 3), session_for(runtime, "lijg", 4)
    queue.open_window(wang)
    queue.open_window(li)
    keys = iter(range(1000))

    def k() -> str:
        return f"k{next(keys)}"

    plain = queue.call_next(wang, k())  # A001: call, start, finish
    assert plain is not None
    tick(2)
    queue.start(wang, plain.id, k())
    tick(7)
    queue.finish(wang, plain.id, k())
    recalled = queue.call_next(wang, k())  # A002: recalled twice, then served
    assert recalled is not None
    tick(1)
    queue.recall(wang, recalled.id, k())
    tick(1)
    queue.start(wang, recalled.id, k())
    tick(4)
    queue.finish(wang, recalled.id, k())
    gone = queue.call_next(li, k())  # A003: no-show
    assert gone is not None
    tick(3)
    queue.no_show(li, gone.id, k())
    moved = queue.call_next(li, k())  # A004: served, transferred to window 3 and back, finished
    assert moved is not None
    queue.start(li, moved.id, k())
    tick(5)
    queue.transfer(li, moved.id, k(), window=3, reason="需要另一窗口办理")
    tick(2)
    again = queue.call_next(wang, k())
    assert again is not None and again.id == moved.id
    queue.start(wang, moved.id, k())
    tick(6)
    queue.finish(wang, moved.id, k())
    parked = queue.call_next(li, k())  # A005: parked and called back
    assert parked is not None
    queue.start(li, parked.id, k())
    tick(2)
    queue.park(li, parked.id, k())
    tick(9)
    queue.call_back(li, parked.id, k())
    queue.start(li, parked.id, k())
    tick(3)
    queue.finish(li, parked.id, k())
    called = queue.call_next(li, k())  # A006: called, not yet started; A007 and B001 waiting
    assert called is not None


def test_queue_figures_equal_those_of_the_full_ticket_history(runtime: Runtime) -> None:
    _busy_morning(runtime)
    supervisor = session_for(runtime, "chenjing", None)
    stats = SupervisionReports(runtime, clock=lambda: LATER).queue_stats(supervisor, WEEK)
    reference = _reference_stats(runtime, WEEK)
    assert stats is not None
    for name in ("by_category", "by_window", "by_clerk", "overall"):
        assert getattr(stats, name) == getattr(reference, name), name
    assert stats == reference
    # A004 went back to window 4 when window 3 finished it: three finishes, all in the 9 o'clock hour
    assert stats.tickets == 8 and stats.finished_per_hour == ((9, 3),)
