"""Screenshots of the intake form (registered in ``clerk_app.gui.screenshots.SHOTS``): the form
filled in for the 企业开办 bundle with one material deferred under 容缺, a correction with its
complete list of missing materials and the 一次性告知书 preview, and the applicant's return with
the correction checklist (one material ticked)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QComboBox, QDateEdit, QLineEdit

from clerk_app.gui.pages.intake import COL_DUE, COL_NOTE, COL_STATE, IntakePage

if TYPE_CHECKING:
    from clerk_app.gui.screenshots import ShotContext

EXTRA_VALUES = {
    "registered_capital": "100",
    "business_scope": "软件开发；信息技术咨询服务",
    "staff_count": "12",
}


def _page(ctx: ShotContext) -> IntakePage:
    main = ctx.main_window("wangxy", "Window#2026", 3)
    page = main.show_page("intake")
    assert isinstance(page, IntakePage)
    return page


def _applicant(page: IntakePage, name: str) -> None:
    page.id_edit.setText("11010519491231002X")
    page.name_edit.setText(name)
    page.phone_edit.setText("13800138000")
    page.address_edit.setText("示例市新城区政务服务路 8 号")
    page.ticket_edit.setText("A012")


def _set_state(page: IntakePage, name: str, state: str) -> int:
    table = page.materials_table
    for row in range(table.rowCount()):
        item = table.item(row, 0)
        combo = table.cellWidget(row, COL_STATE)
        if item is not None and item.text() == name and isinstance(combo, QComboBox):
            combo.setCurrentIndex(combo.findData(state))
            return row
    return -1


def shot_intake_form(ctx: ShotContext) -> list[Path]:
    page = _page(ctx)
    _applicant(page, "张三")
    page.search_matters("qykb")  # 企业开办 by its pinyin initials
    page.choose_hit()
    for name, widget in page.extra_widgets.items():
        if isinstance(widget, QComboBox):
            widget.setCurrentIndex(1)
        elif isinstance(widget, QLineEdit):
            widget.setText(EXTRA_VALUES.get(name, ""))
    row = _set_state(page, "单位银行账户信息", "deferred")
    due = page.materials_table.cellWidget(row, COL_DUE)
    if isinstance(due, QDateEdit):
        due.setDate(QDate.currentDate())
    page.validate_now()
    path = ctx.save(page.window(), "intake-form")
    page.window().close()
    return [path]


def shot_intake_correction(ctx: ShotContext) -> list[Path]:
    page = _page(ctx)
    _applicant(page, "李四")
    page.search_matters("食品经营许可")
    page.choose_hit()
    for field in page.extra_widgets.values():
        if isinstance(field, QComboBox):
            field.setCurrentIndex(1)
    for name in ("营业执照", "经营场所平面布局图", "食品安全管理制度文本"):
        _set_state(page, name, "missing")
    note = page.materials_table.cellWidget(_set_state(page, "营业执照", "missing"), COL_NOTE)
    if isinstance(note, QLineEdit):
        note.setText("营业执照已过有效期，请提供有效期内的副本")
    page.request_correction()
    ctx.settle()
    paths = [ctx.save(page.window(), "intake-correction")]
    if page.previews:
        preview = page.previews[0]
        preview.resize(820, 1000)
        paths.append(ctx.save(preview, "intake-correction-notice"))
        for dialog in list(page.previews):
            dialog.close()
    paths.extend(_checklist(ctx, page))
    page.window().close()
    return paths


def _checklist(ctx: ShotContext, page: IntakePage) -> list[Path]:
    """The applicant comes back with part of the list: Ctrl+B on the returning applicant."""
    page.clear_form()
    page.id_edit.setText("11010519491231002X")
    page.validate_now()
    ctx.settle()
    page.receive_correction()
    dialog = page.correction_dialog
    if dialog is None:
        return []
    ctx.settle()
    if dialog.items.count():
        dialog.items.item(0).setCheckState(Qt.CheckState.Checked)
    dialog.note_edit.setText("营业执照副本原件已核验")
    path = ctx.save(dialog, "intake-correction-checklist")
    dialog.close()
    return [path]


INTAKE_SHOTS = [shot_intake_form, shot_intake_correction]
