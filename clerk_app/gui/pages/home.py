"""工作台: who is at which window today, and the keyboard map of the workstation."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QTableWidget, QTableWidgetItem, QWidget

from clerk_app.domain.halltime import hall_now
from clerk_app.gui.pages.base import Page, PageContext
from clerk_app.i18n import N_, _

SHORTCUTS = [
    ("Ctrl+1 … Ctrl+9", N_("切换到导航中的第 1 … 9 个页面")),
    ("Ctrl+L", N_("锁定工作台（离开座位时）")),
    ("Tab / Shift+Tab", N_("按表单顺序移到下一项 / 上一项")),
    ("Enter", N_("确认当前项并前进")),
    ("Esc", N_("取消对话框")),
    ("F1", N_("显示本快捷键表")),
    ("F2", N_("一窗受理：光标到证件号码（也可直接刷身份证）")),
    ("Ctrl+F", N_("一窗受理：查找事项（名称、编码或拼音首字母），回车选中")),
    (
        "Shift+F5 … Shift+F12",
        N_("叫号（任何页面）：叫下一位 / 重呼 / 开始办理 / 过号 / 挂起 / 办结 / 转窗 / 暂停"),
    ),
    ("F5 / F6 / F7 / F8", N_("一窗受理：受理 / 补正 / 不予受理 / 当场办结")),
    ("Ctrl+S / Ctrl+N", N_("一窗受理：保存草稿 / 新表单（当前表单留在草稿箱）")),
    ("Ctrl+D", N_("一窗受理：打开草稿箱")),
    ("Ctrl+R", N_("一窗受理：带入回头件信息")),
    ("Ctrl+B", N_("一窗受理：登记回头件本次带来的补正材料")),
    ("Ctrl+F / Enter", N_("办件查询：光标到查询框 / 查询")),
    ("F5 … F11", N_("办件查询：补正材料已收 / 开始审查 / 作出决定 / 送达 / 归档 / 撤件 / 发证")),
    ("Ctrl+D", N_("办件查询：光标到本件的文书（回车重新打开）")),
    ("Ctrl+PgUp / Ctrl+PgDown", N_("办件查询：上一页 / 下一页")),
]

WEEKDAYS = [N_("星期一"), N_("星期二"), N_("星期三"), N_("星期四"), N_("星期五"), N_("星期六"), N_("星期日")]


class HomePage(Page):
    key = "home"
    title = N_("工作台")

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        who = ctx.session
        today = hall_now().date()
        where = _("{n} 号窗口").format(n=who.window_number) if who.window_number else _("后台")
        greeting = QLabel(
            _("{name}，您好。今天是 {date} {weekday}，您在 {where} 工作。").format(
                name=who.display_name,
                date=today.isoformat(),
                weekday=_(WEEKDAYS[today.weekday()]),
                where=where,
            )
        )
        greeting.setObjectName("pageHint")
        greeting.setWordWrap(True)
        self.layout_.addWidget(greeting)
        self.layout_.addWidget(self._tiles())
        self.layout_.addWidget(self._shortcut_box())
        self.layout_.addStretch(1)

    def _tiles(self) -> QGroupBox:
        box = QGroupBox(_("本岗位"))
        grid = QGridLayout(box)
        who = self.ctx.session
        tiles = [
            (who.hall_name, _("服务大厅")),
            (_("{n} 号窗口").format(n=who.window_number) if who.window_number else _("后台"), _("窗口")),
            (who.role.label, _("身份")),
        ]
        for column, (value, label) in enumerate(tiles):
            value_label, caption = QLabel(value), QLabel(label)
            value_label.setObjectName("tileValue")
            value_label.setWordWrap(True)
            caption.setObjectName("tileLabel")
            grid.addWidget(value_label, 0, column)
            grid.addWidget(caption, 1, column)
        return box

    def _shortcut_box(self) -> QGroupBox:
        box = QGroupBox(_("快捷键"))
        table = QTableWidget(len(SHORTCUTS), 2, box)
        table.setObjectName("shortcutTable")
        table.setHorizontalHeaderLabels([_("按键"), _("作用")])
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setStretchLastSection(True)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (keys, meaning) in enumerate(SHORTCUTS):
            table.setItem(row, 0, QTableWidgetItem(keys))
            table.setItem(row, 1, QTableWidgetItem(_(meaning)))
        table.resizeColumnToContents(0)
        table.setColumnWidth(0, max(table.columnWidth(0), 180))
        table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        rows_height = sum(table.rowHeight(r) for r in range(table.rowCount()))
        table.setFixedHeight(
            rows_height + table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
        )
        grid = QGridLayout(box)
        grid.addWidget(table)
        return box
