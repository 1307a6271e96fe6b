"""How a synced record reads to a clerk: business names of the synced tables, Chinese labels of
their columns, and column values in plain words (times in hall time, states by their names).

The Sync page shows changes the central store did not apply; the payloads hold raw column names
and JSON values. ``table_label``, ``field_label`` and ``show_value`` turn them into what the
clerk knows from the screens. A column without its own label falls back to a label shared by
name (``window_number`` is 窗口号 in every table), then to the raw name.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Boolean, Date, DateTime

from clerk_app.domain.case_states import CaseEvent, CaseState, Role
from clerk_app.domain.catalogue import MaterialForm
from clerk_app.domain.halltime import HALL_TZ
from clerk_app.domain.ticket_states import TicketState
from clerk_app.i18n import N_, _
from clerk_app.store.base import UtcDateTime
from clerk_app.sync.codec import known_table, synced_table

#: business name of each synced table
TABLE_LABELS: Mapping[str, str] = {
    "cases": N_("办件"),
    "case_events": N_("办件状态变更"),
    "case_applicants": N_("申请人"),
    "case_materials": N_("申请材料"),
    "halls": N_("大厅"),
    "departments": N_("部门"),
    "windows": N_("窗口"),
    "users": N_("用户"),
    "devices": N_("工作站"),
    "settings": N_("大厅设置"),
    "audit_entries": N_("审计记录"),
    "documents": N_("文书"),
    "document_prints": N_("文书打印"),
    "number_blocks": N_("文号段"),
    "voided_numbers": N_("作废文号"),
    "issuer_keys": N_("签章密钥"),
    "queue_categories": N_("取号类别"),
    "queue_window_categories": N_("窗口取号类别"),
    "queue_tickets": N_("取号"),
    "queue_ticket_events": N_("取号记录"),
    "queue_appointments": N_("预约"),
    "ratings": N_("评价"),
    "rectifications": N_("整改"),
    "rectification_events": N_("整改记录"),
    "complaint_cases": N_("办不成事反映"),
    "complaint_events": N_("反映处理记录"),
    "sync_rejections": N_("未采用的修改"),
}

#: labels of columns that mean the same in every table
COMMON_FIELDS: Mapping[str, str] = {
    "name": N_("名称"),
    "code": N_("编码"),
    "number": N_("编号"),
    "window_number": N_("窗口号"),
    "hall_id": N_("所属大厅"),
    "at": N_("时间"),
    "reason": N_("原因"),
    "status": N_("状态"),
    "state": N_("状态"),
    "active": N_("启用"),
    "deleted": N_("已删除"),
    "detail": N_("详情"),
    "actor_name": N_("操作人"),
    "actor_id": N_("操作人"),
    "clerk_id": N_("经办人"),
    "clerk_name": N_("经办人"),
    "applicant_name": N_("申请人"),
    "applicant_phone": N_("申请人电话"),
    "case_ref": N_("办件编号"),
    "matter_name": N_("事项名称"),
    "comment": N_("意见"),
    "level": N_("评价等级"),
    "phone": N_("联系电话"),
    "address": N_("地址"),
    "kind": N_("类型"),
    "text": N_("内容"),
    "due_date": N_("期限"),
    "legal_basis": N_("法律依据"),
    "closed_at": N_("办结时间"),
    "closed_by": N_("办结人"),
    "year": N_("年度"),
    "seq": N_("序号"),
    "doc_type": N_("文书种类"),
    "sha256": N_("文件指纹"),
    "event": N_("事件"),
    "from_state": N_("原状态"),
    "to_state": N_("新状态"),
    "category": N_("类别"),
}

#: labels of columns particular to one table
FIELD_LABELS: Mapping[tuple[str, str], str] = {
    ("halls", "name"): N_("大厅名称"),
    ("halls", "authority"): N_("主管机关"),
    ("halls", "address"): N_("大厅地址"),
    ("halls", "contact_phone"): N_("咨询电话"),
    ("windows", "number"): N_("窗口号"),
    ("windows", "name"): N_("窗口名称"),
    ("users", "username"): N_("用户名"),
    ("users", "display_name"): N_("姓名"),
    ("users", "role"): N_("角色"),
    ("users", "password_hash"): N_("密码"),
    ("users", "department_id"): N_("部门"),
    ("users", "staff_no"): N_("工号"),
    ("devices", "device_key"): N_("设备编号"),
    ("devices", "registered_at"): N_("登记时间"),
    ("settings", "key"): N_("设置项"),
    ("settings", "value"): N_("设置值"),
    ("audit_entries", "action"): N_("操作"),
    ("audit_entries", "target"): N_("对象"),
    ("case_applicants", "kind"): N_("申请人类型"),
    ("case_applicants", "id_type"): N_("证件类型"),
    ("case_applicants", "id_number"): N_("证件号码"),
    ("case_applicants", "name"): N_("申请人姓名或名称"),
    ("case_applicants", "legal_representative"): N_("法定代表人"),
    ("case_applicants", "updated_at"): N_("更新时间"),
    ("cases", "case_number"): N_("办件编号"),
    ("cases", "applicant_id"): N_("申请人"),
    ("cases", "matter_codes"): N_("办理事项"),
    ("cases", "bundle_code"): N_("一件事"),
    ("cases", "status"): N_("办件状态"),
    ("cases", "received_at"): N_("收件时间"),
    ("cases", "accepted_at"): N_("受理时间"),
    ("cases", "promised_due"): N_("承诺办结时间"),
    ("cases", "promised_date"): N_("承诺办结日期"),
    ("cases", "provisional"): N_("期限待确认"),
    ("cases", "decided_at"): N_("决定时间"),
    ("cases", "delivery"): N_("取件方式"),
    ("cases", "delivery_address"): N_("邮寄地址"),
    ("cases", "agent_name"): N_("代理人"),
    ("cases", "agent_id_type"): N_("代理人证件类型"),
    ("cases", "agent_id_number"): N_("代理人证件号码"),
    ("cases", "agent_phone"): N_("代理人电话"),
    ("cases", "cross_region"): N_("跨域通办"),
    ("cases", "other_region"): N_("通办地区"),
    ("cases", "ticket_number"): N_("排队号"),
    ("cases", "extra"): N_("其他信息"),
    ("case_materials", "case_id"): N_("办件"),
    ("case_materials", "material_key"): N_("材料代码"),
    ("case_materials", "name"): N_("材料名称"),
    ("case_materials", "required"): N_("必交"),
    ("case_materials", "state"): N_("收取情况"),
    ("case_materials", "form"): N_("材料形式"),
    ("case_materials", "count"): N_("份数"),
    ("case_materials", "note"): N_("备注"),
    ("case_events", "case_id"): N_("办件"),
    ("queue_tickets", "service_day"): N_("取号日期"),
    ("queue_tickets", "number"): N_("排队号"),
    ("queue_tickets", "category"): N_("业务类别"),
    ("queue_tickets", "priority"): N_("优先"),
    ("queue_tickets", "priority_kind"): N_("优先类别"),
    ("queue_tickets", "appointment_at"): N_("预约时间"),
    ("queue_tickets", "state"): N_("排队状态"),
    ("queue_tickets", "routed_window"): N_("转至窗口"),
    ("queue_tickets", "routed_at"): N_("转窗时间"),
    ("queue_tickets", "return_window"): N_("返回窗口"),
    ("queue_tickets", "recall_count"): N_("重呼次数"),
    ("queue_tickets", "call_reason"): N_("叫号原因"),
    ("queue_tickets", "issued_at"): N_("取号时间"),
    ("queue_tickets", "called_at"): N_("叫号时间"),
    ("queue_tickets", "started_at"): N_("开始办理时间"),
    ("queue_tickets", "finished_at"): N_("办理结束时间"),
    ("queue_tickets", "offline"): N_("离线取号"),
    ("queue_tickets", "issued_by"): N_("取号设备"),
    ("queue_ticket_events", "ticket_id"): N_("排队号"),
    ("queue_appointments", "code"): N_("预约码"),
    ("queue_appointments", "service_day"): N_("预约日期"),
    ("queue_appointments", "slot_start"): N_("预约开始时间"),
    ("queue_appointments", "slot_end"): N_("预约结束时间"),
    ("queue_appointments", "id_number"): N_("证件号码"),
    ("queue_appointments", "state"): N_("预约状态"),
    ("queue_appointments", "ticket_id"): N_("排队号"),
    ("queue_appointments", "checked_in_at"): N_("签到时间"),
    ("queue_appointments", "phone"): N_("手机号"),
    ("queue_appointments", "cancelled_at"): N_("取消时间"),
    ("queue_appointments", "cancel_reason"): N_("取消原因"),
    ("queue_appointments", "cancelled_by"): N_("取消人"),
    ("ratings", "service_ref"): N_("评价对象"),
    ("ratings", "overall"): N_("总体评分"),
    ("ratings", "efficiency"): N_("办事效率"),
    ("ratings", "competence"): N_("业务能力"),
    ("ratings", "attitude"): N_("服务态度"),
    ("ratings", "channel"): N_("评价渠道"),
    ("ratings", "rated_at"): N_("评价时间"),
    ("rectifications", "rating_id"): N_("差评"),
    ("rectifications", "assignee_name"): N_("整改责任人"),
    ("rectifications", "opened_at"): N_("立项时间"),
    ("rectifications", "follow_ups"): N_("回访次数"),
    ("rectifications", "reached"): N_("已联系上"),
    ("rectifications", "cause_category"): N_("原因分类"),
    ("rectifications", "action_taken"): N_("整改措施"),
    ("rectifications", "re_rating"): N_("回访评价"),
    ("complaint_cases", "number"): N_("反映编号"),
    ("complaint_cases", "source"): N_("来源"),
    ("complaint_cases", "hotline_ref"): N_("热线工单号"),
    ("complaint_cases", "request"): N_("诉求"),
    ("complaint_cases", "department"): N_("责任部门"),
    ("complaint_cases", "complexity"): N_("复杂程度"),
    ("complaint_cases", "registered_at"): N_("登记时间"),
    ("complaint_cases", "resolution"): N_("处理结果"),
    ("complaint_cases", "feedback"): N_("反馈意见"),
    ("documents", "title"): N_("标题"),
    ("documents", "party"): N_("当事人"),
    ("documents", "number"): N_("文号"),
    ("documents", "created_at"): N_("制作时间"),
    ("documents", "created_by"): N_("制作人"),
    ("document_prints", "copy_no"): N_("份号"),
    ("document_prints", "printer"): N_("打印机"),
}

_DELIVERY = {"pickup": N_("窗口领取"), "mail": N_("邮寄送达")}
_APPLICANT_KIND = {"person": N_("个人"), "organisation": N_("单位")}
_MATERIAL_STATE = {
    "received": N_("已收取"),
    "missing": N_("缺件"),
    "deferred": N_("容缺后补"),
    "commitment": N_("告知承诺"),
}


def _enum(kind: Callable[[str], Any]) -> Callable[[Any], str]:
    def show(value: Any) -> str:
        try:
            return str(kind(str(value)).label)
        except ValueError:
            return str(value)

    return show


def _words(names: Mapping[str, str]) -> Callable[[Any], str]:
    def show(value: Any) -> str:
        label = names.get(str(value))
        return _(label) if label else str(value)

    return show


_CASE_STATE = _enum(CaseState)
_TICKET_STATE = _enum(TicketState)

#: columns whose stored value is a code with a name
VALUE_NAMES: Mapping[tuple[str, str], Callable[[Any], str]] = {
    ("cases", "status"): _CASE_STATE,
    ("cases", "delivery"): _words(_DELIVERY),
    ("case_events", "event"): _enum(CaseEvent),
    ("case_events", "from_state"): _CASE_STATE,
    ("case_events", "to_state"): _CASE_STATE,
    ("case_applicants", "kind"): _words(_APPLICANT_KIND),
    ("case_materials", "form"): _enum(MaterialForm),
    ("case_materials", "state"): _words(_MATERIAL_STATE),
    ("queue_tickets", "state"): _TICKET_STATE,
    ("queue_ticket_events", "from_state"): _TICKET_STATE,
    ("queue_ticket_events", "to_state"): _TICKET_STATE,
    ("users", "role"): _enum(Role),
}

#: columns never shown with their value (a password hash means nothing to a clerk)
HIDDEN_VALUES = frozenset({("users", "password_hash")})


def table_label(table: str) -> str:
    label = TABLE_LABELS.get(table)
    return _(label) if label else table


def field_label(table: str, column: str) -> str:
    label = FIELD_LABELS.get((table, column)) or COMMON_FIELDS.get(column)
    return _(label) if label else column


def _column_type(table: str, column: str) -> Any:
    if not known_table(table):
        return None
    found = synced_table(table).columns.get(column)
    return found.type if found is not None else None


def _when(value: Any) -> str:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(HALL_TZ).strftime("%Y-%m-%d %H:%M")


def show_value(table: str, column: str, value: Any) -> str:
    """``value`` of ``table.column`` (as a payload holds it) in words a clerk reads."""
    if value is None or (isinstance(value, str | list | dict) and not value):
        return "—"
    if (table, column) in HIDDEN_VALUES:
        return _("（已隐藏）")
    named = VALUE_NAMES.get((table, column))
    if named is not None:
        return named(value)
    kind = _column_type(table, column)
    try:
        if isinstance(kind, UtcDateTime | DateTime):
            return _when(value)
        if isinstance(kind, Date):
            day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
            return day.isoformat()
    except ValueError:
        return str(value)
    if isinstance(kind, Boolean) or isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}：{v}" for k, v in value.items())
    if isinstance(value, uuid.UUID):
        return str(value)[-8:]
    return str(value)
