"""Supervisor pages: the hall monitor (the live queue per category, each window's state, open
办不成事 cases with their timers, open rectifications, cases nearing or past their promised time,
with alerts) and the supervision reports (figures, charts, CSV, Excel and PDF export).

Views only: data comes through ``ctx.tasks.db``; a refresh never blocks the GUI thread and a new
one is not queued while the previous one is still running.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QPieSeries,
    QValueAxis,
)
from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtGui import QColor, QHideEvent, QPainter
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from clerk_app.domain.halltime import HALL_TZ
from clerk_app.gui.pages.base import Page, PageContext
from clerk_app.gui.pages.supervision import OVER, WARN, _clock_text, _fit, _item, _table, _when
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission
from clerk_app.services.hall_monitor import (
    QueueSnapshot,
    WindowStatus,
    pause_label,
    queue_snapshot,
    status_label,
)
from clerk_app.services.queue_stats import QueueStats
from clerk_app.services.ratings import LEVEL_COLOURS
from clerk_app.services.supervision_reports import (
    MonitorSnapshot,
    Period,
    PeriodKind,
    SupervisionReport,
    SupervisionReports,
    monitor_snapshot,
    report_csv,
    report_pdf,
    report_xlsx,
)

REFRESH_MS = 10_000


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _minutes_text(value: dt.timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds() / 60:.1f}"


def _offline_text(w: WindowStatus, now: dt.datetime) -> str:
    """离线 and for how long (since the workstation was last heard from)."""
    silent = now - w.last_seen if w.last_seen is not None else w.offline_for
    return _("离线 {t}").format(t=_clock_text(silent or dt.timedelta(0)))


class MonitorPage(Page):
    """值班监控: what needs the supervisor now."""

    key = "monitor"
    title = N_("大厅监控")
    permission = Permission.SUPERVISE

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.snapshot: MonitorSnapshot | None = None
        self.loading = False
        self.alerts = QLabel()
        self.alerts.setObjectName("monitorAlerts")
        self.alerts.setWordWrap(True)
        self.layout_.addWidget(self.alerts)
        self.updated = QLabel()
        self.updated.setObjectName("pageHint")
        self.layout_.addWidget(self.updated)
        grid = QGridLayout()
        self.complaint_table = _table(
            [_("编号"), _("来源"), _("窗口"), _("申请人"), _("诉求"), _("状态"), _("计时")],
            "monitorComplaints",
        )
        self.rect_table = _table(
            [_("服务编号"), _("评价"), _("窗口"), _("工作人员"), _("整改期限"), _("回访")],
            "monitorRectifications",
        )
        self.case_table = _table([_("办件编号"), _("窗口"), _("工作人员"), _("承诺办结时间")], "monitorCases")
        self.category_table = _table([_("类别"), _("等候人数"), _("最长等候")], "monitorCategories")
        self.window_table = _table(
            [_("窗口"), _("状态"), _("工作人员"), _("当前号"), _("用时")], "monitorWindows"
        )
        grid.addWidget(self._boxed(_("排队情况"), self.category_table), 0, 0)
        grid.addWidget(self._boxed(_("窗口状态"), self.window_table), 0, 1)
        grid.addWidget(self._boxed(_("未办结的办不成事案件"), self.complaint_table), 1, 0)
        self.lists = QTabWidget()
        self.lists.addTab(self.rect_table, _("未办结的差评整改"))
        self.lists.addTab(self.case_table, _("临近或超过承诺时限的办件"))
        grid.addWidget(self.lists, 1, 1)
        self.layout_.addLayout(grid, 1)
        self.queue: QueueSnapshot | None = None
        self.refresher = QTimer(self)
        self.refresher.setInterval(REFRESH_MS)
        self.refresher.timeout.connect(self.refresh)
        self.ticker = QTimer(self)
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(self.tick)

    @staticmethod
    def _boxed(title: str, table: QTableWidget) -> QGroupBox:
        box = QGroupBox(title)
        layout = QVBoxLayout(box)
        layout.addWidget(table)
        return box

    def activated(self) -> None:
        self.refresh()
        self.refresher.start()
        self.ticker.start()

    def refresh(self) -> None:
        if self.loading:
            return
        self.loading = True
        runtime, session = self.ctx.runtime, self.ctx.session

        def load() -> tuple[MonitorSnapshot, QueueSnapshot]:
            return monitor_snapshot(runtime, session), queue_snapshot(runtime, session)

        self.ctx.tasks.db(load, self._show, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.loading = False
        self.ctx.errors(exc)

    def _show(self, result: tuple[MonitorSnapshot, QueueSnapshot]) -> None:
        self.loading = False
        snapshot, queue = result
        self.snapshot, self.queue = snapshot, queue
        self._show_queue(queue)
        self.updated.setText(_("更新于 {t}").format(t=snapshot.at.astimezone(HALL_TZ).strftime("%H:%M:%S")))
        self.complaint_table.setRowCount(len(snapshot.complaints))
        for row, c in enumerate(snapshot.complaints):
            cells = [
                c.number,
                c.source.label,
                "" if c.window_number is None else str(c.window_number),
                c.applicant_name,
                c.request,
                c.status.label,
            ]
            for column, text in enumerate(cells):
                self.complaint_table.setItem(row, column, _item(text))
        self.rect_table.setRowCount(len(snapshot.rectifications))
        for row, r in enumerate(snapshot.rectifications):
            cells = [
                r.service_ref,
                r.level.label,
                "" if r.window_number is None else str(r.window_number),
                r.clerk_name,
                r.due_date.isoformat(),
                str(r.follow_ups),
            ]
            for column, text in enumerate(cells):
                self.rect_table.setItem(row, column, _item(text, OVER if r.overdue and column == 4 else None))
        self.case_table.setRowCount(len(snapshot.due_cases))
        for row, case in enumerate(snapshot.due_cases):
            cells = [
                case.case_number,
                "" if case.window_number is None else str(case.window_number),
                case.clerk_name,
                _when(case.promised_due),
            ]
            for column, text in enumerate(cells):
                self.case_table.setItem(row, column, _item(text, OVER if case.overdue else None))
        self.tick()
        for table, wide in ((self.complaint_table, 4), (self.rect_table, 0), (self.case_table, 0)):
            _fit(table, wide)

    def _show_queue(self, queue: QueueSnapshot) -> None:
        self.category_table.setRowCount(len(queue.categories))
        late = {c.code for c in queue.long_waits}
        for row, c in enumerate(queue.categories):
            colour = OVER if c.code in late else None
            cells = [f"{c.code} {c.name}", str(c.waiting), _clock_text(c.longest_wait) if c.waiting else ""]
            for column, text in enumerate(cells):
                self.category_table.setItem(row, column, _item(text, colour))
        self.window_table.setRowCount(len(queue.windows))
        now = dt.datetime.now(dt.UTC)
        for row, w in enumerate(queue.windows):
            status = status_label(w.status)
            if w.status == "paused" and w.pause_reason:
                status = f"{status}（{pause_label(w.pause_reason)}）"
            colour = WARN if w.status == "paused" else None
            if w.offline:
                status, colour = _offline_text(w, now), OVER
            cells = [str(w.number), status, w.clerk_name, w.ticket_number]
            for column, text in enumerate(cells):
                self.window_table.setItem(row, column, _item(text, colour))
        _fit(self.category_table, 0)

    def tick(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        now = dt.datetime.now(dt.UTC)
        queue = self.queue
        if queue is not None:
            for row, w in enumerate(queue.windows):
                since = w.ticket_since if w.ticket_number else None
                self.window_table.setItem(row, 4, _item(_clock_text(now - since) if since else ""))
                if w.offline:  # the silence grows until the next refresh
                    self.window_table.setItem(row, 1, _item(_offline_text(w, now), OVER))
        limit = dt.timedelta(minutes=snapshot.window_minutes)
        for row, c in enumerate(snapshot.complaints):
            elapsed = (c.first_action_at or now) - c.registered_at
            late = c.first_action_at is None and elapsed > limit
            self.complaint_table.setItem(row, 6, _item(_clock_text(elapsed), OVER if late else None))
        alerts = []
        if queue is not None and not queue.reachable:
            alerts.append(_("中心库无法连接，排队和窗口状态暂不可见"))
        if queue is not None and queue.long_waits:
            names = "、".join(c.name for c in queue.long_waits)
            alerts.append(_("{names} 等候超过 {m} 分钟").format(names=names, m=queue.wait_alert_minutes))
        if queue is not None and queue.too_few_open:
            alerts.append(
                _("只开放了 {n} 个窗口（至少应开放 {m} 个）").format(
                    n=queue.open_windows, m=queue.min_open_windows
                )
            )
        if queue is not None and queue.offline_windows:
            numbers = "、".join(str(w.number) for w in queue.offline_windows)
            alerts.append(_("{numbers} 号窗口的工作站离线").format(numbers=numbers))
        waiting = snapshot.complaints_over_target(now)
        if waiting:
            alerts.append(
                _("{n} 个办不成事案件已超过 {m} 分钟未处理").format(n=waiting, m=snapshot.window_minutes)
            )
        if snapshot.rectifications_overdue:
            alerts.append(_("{n} 条差评整改已逾期").format(n=snapshot.rectifications_overdue))
        if snapshot.cases_overdue:
            alerts.append(_("{n} 件办件已超过承诺时限").format(n=snapshot.cases_overdue))
        if alerts:
            self.alerts.setText("⚠ " + "；".join(alerts))
            self.alerts.setStyleSheet("color: #b3261e; font-size: 18px; font-weight: bold;")
        else:
            self.alerts.setText(_("目前没有需要立即处理的事项。"))
            self.alerts.setStyleSheet("color: #1b7f3b; font-size: 18px;")

    def hideEvent(self, event: QHideEvent) -> None:
        self.refresher.stop()
        self.ticker.stop()
        super().hideEvent(event)


class ReportsPage(Page):
    """统计报表: figures for a day, week, month or range, with charts; CSV and PDF export."""

    key = "reports"
    title = N_("统计报表")
    permission = Permission.SUPERVISE

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.service = SupervisionReports(ctx.runtime)
        self.report: SupervisionReport | None = None
        self.queue: QueueStats | None = None
        controls = QHBoxLayout()
        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("periodKind")
        for kind in PeriodKind:
            self.kind_combo.addItem(kind.label, kind.value)
        self.kind_combo.setCurrentIndex(self.kind_combo.findData(PeriodKind.MONTH.value))
        self.kind_combo.currentIndexChanged.connect(self._kind_changed)
        today = QDate.currentDate()
        self.from_edit = QDateEdit(today)
        self.from_edit.setObjectName("periodFrom")
        self.from_edit.setCalendarPopup(True)
        self.from_edit.setDisplayFormat("yyyy-MM-dd")
        self.to_edit = QDateEdit(today)
        self.to_edit.setObjectName("periodTo")
        self.to_edit.setCalendarPopup(True)
        self.to_edit.setDisplayFormat("yyyy-MM-dd")
        self.to_edit.setEnabled(False)
        run = QPushButton(_("统计"))
        run.setObjectName("runReportButton")
        run.clicked.connect(self.run)
        self.csv_button = QPushButton(_("导出 CSV"))
        self.csv_button.clicked.connect(self._choose_csv)
        self.xlsx_button = QPushButton(_("导出 Excel"))
        self.xlsx_button.clicked.connect(self._choose_xlsx)
        self.pdf_button = QPushButton(_("导出 PDF"))
        self.pdf_button.clicked.connect(self._choose_pdf)
        for widget in (self.kind_combo, self.from_edit, QLabel("—"), self.to_edit, run):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(self.csv_button)
        controls.addWidget(self.xlsx_button)
        controls.addWidget(self.pdf_button)
        self.layout_.addLayout(controls)
        self.area = QWidget()
        self.area.setObjectName("reportArea")
        self._build_area()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.area)
        self.layout_.addWidget(scroll, 1)

    def _build_area(self) -> None:
        layout = QVBoxLayout(self.area)
        self.period_label = QLabel()
        self.period_label.setObjectName("reportPeriod")
        self.period_label.setStyleSheet("font-size: 16px; font-weight: bold;")
        layout.addWidget(self.period_label)
        tiles = QGridLayout()
        self.tiles: dict[str, QLabel] = {}
        for column, (key, caption) in enumerate(
            (
                ("ratings", _("评价总数")),
                ("satisfaction", _("满意率")),
                ("bad", _("差评数")),
                ("rectification", _("整改中 / 逾期")),
                ("complaints", _("办不成事 / 20 分钟内处理")),
                ("on_time", _("按时办结率")),
                ("tickets", _("取号数 / 等候中位数")),
            )
        ):
            value = QLabel("—")
            value.setObjectName("tileValue")
            label = QLabel(caption)
            label.setObjectName("tileLabel")
            tiles.addWidget(value, 0, column)
            tiles.addWidget(label, 1, column)
            self.tiles[key] = value
        layout.addLayout(tiles)
        charts = QHBoxLayout()
        self.level_chart = QChart()
        self.level_chart.setTitle(_("评价等级分布"))
        self.level_view = QChartView(self.level_chart)
        self.level_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.level_view.setMinimumHeight(280)
        self.complaint_chart = QChart()
        self.complaint_chart.setTitle(_("办不成事案件类别"))
        self.complaint_view = QChartView(self.complaint_chart)
        self.complaint_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.complaint_view.setMinimumHeight(280)
        charts.addWidget(self.level_view)
        charts.addWidget(self.complaint_view)
        layout.addLayout(charts)
        tables = QHBoxLayout()
        self.window_table = _table(
            [_("窗口"), _("评价数"), _("好评"), _("差评"), _("满意率")], "reportWindows"
        )
        self.matter_table = _table([_("事项编码"), _("收件"), _("已办结")], "reportMatters")
        # a hall's matter codes share their first twenty characters: cut in the middle, not the end
        self.matter_table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.clerk_table = _table([_("工作人员"), _("收件"), _("已办结")], "reportClerks")
        self.queue_table = _table(
            [_("类别"), _("叫号数"), _("等候中位数（分钟）"), _("办理中位数（分钟）")], "reportQueue"
        )
        for table in (self.window_table, self.queue_table, self.matter_table, self.clerk_table):
            table.setMinimumHeight(220)
            tables.addWidget(table)
        layout.addLayout(tables)

    def _kind_changed(self) -> None:
        self.to_edit.setEnabled(self.kind_combo.currentData() == PeriodKind.RANGE.value)

    def period(self) -> Period:
        kind = PeriodKind(self.kind_combo.currentData())
        first = self.from_edit.date().toPython()
        last = self.to_edit.date().toPython()
        assert isinstance(first, dt.date) and isinstance(last, dt.date)
        return Period.of(kind, first, last if kind is PeriodKind.RANGE else None)

    def activated(self) -> None:
        if self.report is None:
            self.run()

    def run(self) -> None:
        try:
            period = self.period()
        except Exception as exc:  # a range ending before it starts: shown, not raised
            self.ctx.errors(exc)
            return
        session = self.ctx.session

        def load() -> tuple[SupervisionReport, QueueStats | None]:
            return self.service.report(session, period), self.service.queue_stats(session, period)

        self.ctx.tasks.db(load, self._show)

    def _show(self, result: tuple[SupervisionReport, QueueStats | None]) -> None:
        report, queue = result
        self.report, self.queue = report, queue
        self._show_queue(queue)
        self.period_label.setText(_("统计期间：{p}").format(p=report.period.text()))
        self.tiles["ratings"].setText(str(report.ratings))
        self.tiles["satisfaction"].setText(_percent(report.satisfaction_rate))
        self.tiles["bad"].setText(str(report.bad))
        self.tiles["rectification"].setText(f"{report.rect_open} / {report.rect_overdue}")
        self.tiles["complaints"].setText(f"{report.complaints} / {report.complaints_in_target}")
        self.tiles["on_time"].setText(_percent(report.on_time_rate))
        self._level_chart(report)
        self._complaint_chart(report)
        self.window_table.setRowCount(len(report.by_window))
        for row, g in enumerate(report.by_window):
            for column, text in enumerate([g.key, str(g.total), str(g.good), str(g.bad), _percent(g.rate)]):
                self.window_table.setItem(row, column, _item(text))
        _fit(self.window_table, 0)
        for table, groups in (
            (self.matter_table, report.cases_by_matter),
            (self.clerk_table, report.cases_by_clerk),
        ):
            table.setRowCount(len(groups))
            for row, case_group in enumerate(groups):
                for column, text in enumerate(
                    [case_group.key, str(case_group.received), str(case_group.decided)]
                ):
                    table.setItem(row, column, _item(text))
            _fit(table, 0)

    def _show_queue(self, queue: QueueStats | None) -> None:
        if queue is None:
            self.tiles["tickets"].setText(_("中心库未连接"))
            self.queue_table.setRowCount(0)
            return
        median = queue.overall.waiting.median
        wait = "—" if median is None else _("{m} 分钟").format(m=f"{median.total_seconds() / 60:.1f}")
        self.tiles["tickets"].setText(f"{queue.tickets} / {wait}")
        self.queue_table.setRowCount(len(queue.by_category))
        for row, g in enumerate(queue.by_category):
            cells = [g.key, str(g.called), _minutes_text(g.waiting.median), _minutes_text(g.service.median)]
            for column, text in enumerate(cells):
                self.queue_table.setItem(row, column, _item(text))
        _fit(self.queue_table, 0)

    def _level_chart(self, report: SupervisionReport) -> None:
        self.level_chart.removeAllSeries()
        series = QPieSeries()
        total = sum(count for _level, count in report.levels) or 1
        for level, count in report.levels:
            if count:
                piece = series.append(f"{level.label} {count}", count)
                piece.setColor(QColor(LEVEL_COLOURS[level]))
                # thin slices are named in the legend only: their labels would overlap
                piece.setLabelVisible(count / total >= 0.08)
        self.level_chart.addSeries(series)
        self.level_chart.legend().setAlignment(Qt.AlignmentFlag.AlignRight)

    def _complaint_chart(self, report: SupervisionReport) -> None:
        chart = self.complaint_chart
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        bars = QBarSet(_("案件数"))
        names = []
        for category, count in report.complaints_by_category:
            bars.append(count)
            names.append(category.label)
        series = QHorizontalBarSeries()  # horizontal: the Chinese category names are read in full
        series.append(bars)
        chart.addSeries(series)
        category_axis = QBarCategoryAxis()
        category_axis.append(names)
        value_axis = QValueAxis()
        value_axis.setLabelFormat("%d")
        top = max([1, *(count for _c, count in report.complaints_by_category)])
        value_axis.setRange(0, top)
        if top <= 10:
            value_axis.setTickCount(top + 1)  # whole numbers only
        else:
            value_axis.applyNiceNumbers()
        chart.addAxis(category_axis, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(value_axis, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(category_axis)
        series.attachAxis(value_axis)
        chart.legend().setVisible(False)

    # ---- export ------------------------------------------------------------------------------

    def _choose_csv(self) -> None:
        name, _filter = QFileDialog.getSaveFileName(
            self, _("导出报表"), "统计报表.csv", _("CSV 文件 (*.csv)")
        )
        if name:
            self.export_csv(Path(name))

    def _choose_xlsx(self) -> None:
        name, _filter = QFileDialog.getSaveFileName(
            self, _("导出报表"), "统计报表.xlsx", _("Excel 工作簿 (*.xlsx)")
        )
        if name:
            self.export_xlsx(Path(name))

    def _choose_pdf(self) -> None:
        name, _filter = QFileDialog.getSaveFileName(
            self, _("导出报表"), "统计报表.pdf", _("PDF 文件 (*.pdf)")
        )
        if name:
            self.export_pdf(Path(name))

    def export_csv(self, path: Path) -> None:
        report, queue = self.report, self.queue
        if report is None:
            return
        self.ctx.tasks.db(lambda: path.write_bytes(report_csv(report, queue)))

    def export_xlsx(self, path: Path) -> None:
        report, queue = self.report, self.queue
        if report is None:
            return
        self.ctx.tasks.db(lambda: path.write_bytes(report_xlsx(report, queue)))

    def export_pdf(self, path: Path) -> None:
        """The report as shown, with its charts drawn by reportlab and its tables, as a PDF."""
        report, queue = self.report, self.queue
        if report is None:
            return
        self.ctx.tasks.db(lambda: path.write_bytes(report_pdf(report, queue)))
