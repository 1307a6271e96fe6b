"""The matters of an intake form (single matters or a 一件事 bundle), the union of their material
lists with the clerk's mark on each material (received, missing, deferred under 容缺, replaced by a
告知承诺), and the matter-specific fields that the catalogue defines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from clerk_app.domain.catalogue import (
    Catalogue,
    ExtraField,
    FieldType,
    Material,
    MaterialForm,
    Matter,
)
from clerk_app.i18n import _
from clerk_app.services.intake_forms import (
    MAX_MATTERS,
    IntakeForm,
    MaterialIn,
    MaterialLine,
    MaterialState,
    Outcome,
    _Findings,
    _shown,
)


def _matters(f: _Findings, form: IntakeForm, catalogue: Catalogue) -> tuple[tuple[Matter, ...], str]:
    codes: list[str] = []
    bundle_code = f.text("bundle_code", form.bundle_code, 40)
    if bundle_code:
        try:
            codes.extend(catalogue.bundle(bundle_code).matter_codes)
        except KeyError:
            f.add("bundle_code", _("一件事主题“{code}”不在事项目录中").format(code=_shown(bundle_code)))
    given = form.matter_codes if isinstance(form.matter_codes, tuple | list) else ()
    if len(given) > MAX_MATTERS:
        f.add("matters", _("一次最多办理 {limit} 个事项").format(limit=MAX_MATTERS))
        given = ()
    for raw in given:
        code = f.text("matters", raw, 64)
        if code:
            codes.append(code)
    found: dict[str, Matter] = {}
    for code in codes:
        try:
            matter = catalogue.matter(code)
        except KeyError:
            f.add("matters", _("事项编码“{code}”不在事项目录中").format(code=_shown(code)))
            continue
        found.setdefault(matter.implementation_code, matter)
    if not found and not any(p.field in ("matters", "bundle_code") for p in f.problems):
        f.add("matters", _("请至少选择一个办理事项"))
    return tuple(found.values()), bundle_code


def _materials(
    f: _Findings, form: IntakeForm, merged: tuple[Material, ...], outcome: Outcome, today: dt.date
) -> tuple[tuple[MaterialLine, ...], tuple[MaterialLine, ...], list[tuple[str, dt.date]]]:
    """The marked material lines, the required ones still missing, and (name, due) of deferrals."""
    by_key = {m.key: m for m in merged}
    marks: dict[str, MaterialIn] = {}
    given = form.materials if isinstance(form.materials, tuple | list) else ()
    for mark in given:
        key = mark.key if isinstance(mark, MaterialIn) and isinstance(mark.key, str) else ""
        if key not in by_key:
            f.add("materials", _("材料“{key}”不属于所选事项").format(key=_shown(str(key))))
        elif key in marks:
            f.add("materials", _("材料“{name}”重复勾选").format(name=by_key[key].name))
        else:
            marks[key] = mark
    lines: list[MaterialLine] = []
    missing: list[MaterialLine] = []
    deferred: list[tuple[str, dt.date]] = []
    for material in merged:
        line, lacking = _material_line(f, material, marks.get(material.key), outcome, today, deferred)
        lines.append(line)
        if lacking:
            missing.append(line)
    return tuple(lines), tuple(missing), deferred


def _material_line(
    f: _Findings,
    material: Material,
    mark: MaterialIn | None,
    outcome: Outcome,
    today: dt.date,
    deferred: list[tuple[str, dt.date]],
) -> tuple[MaterialLine, bool]:
    name = material.name
    if mark is None:
        state = MaterialState.MISSING
        return MaterialLine(material.key, name, material.required, state, "", 0, None, ""), material.required
    note = f.text("materials", mark.note, 300, lines=True)
    try:
        state = MaterialState(mark.state)
    except ValueError:
        f.add("materials", _("材料“{name}”的状态无效").format(name=name))
        state = MaterialState.MISSING
    form_text = mark.form if isinstance(mark.form, str) and mark.form else material.form.value
    try:
        form_value = MaterialForm(form_text).value
    except ValueError:
        f.add("materials", _("材料“{name}”的形式无效").format(name=name))
        form_value = material.form.value
    count = mark.count if isinstance(mark.count, int) and not isinstance(mark.count, bool) else -1
    due = mark.due if isinstance(mark.due, dt.date) and not isinstance(mark.due, dt.datetime) else None
    lacking = False
    if state is MaterialState.RECEIVED:
        if not 1 <= count <= 999:
            f.add("materials", _("材料“{name}”的份数应在 1 到 999 之间").format(name=name))
    elif state is MaterialState.MISSING:
        lacking = material.required
    elif state is MaterialState.DEFERRED:
        if not material.deferrable:
            f.add("materials", _("材料“{name}”不可容缺受理").format(name=name))
            lacking = material.required
        elif outcome is Outcome.ON_THE_SPOT:
            f.add("materials", _("即办件不能容缺：材料“{name}”须当场提交").format(name=name))
        elif due is None:
            f.add("materials", _("容缺材料“{name}”须填写补交日期").format(name=name))
        elif due < today:
            f.add("materials", _("容缺材料“{name}”的补交日期不能早于今天").format(name=name))
        else:
            deferred.append((name, due))
    elif state is MaterialState.COMMITMENT and not material.commitment_allowed:
        f.add("materials", _("材料“{name}”不适用告知承诺").format(name=name))
        lacking = material.required
    counted = count if state is MaterialState.RECEIVED and count > 0 else 0
    shown_form = form_value if state is MaterialState.RECEIVED else ""
    shown_due = due if state is MaterialState.DEFERRED else None
    line = MaterialLine(material.key, name, material.required, state, shown_form, counted, shown_due, note)
    return line, lacking


def extra_fields_of(matters: Iterable[Matter]) -> tuple[ExtraField, ...]:
    """The matter-specific fields of ``matters``, merged by field name in first-seen order (a field
    two matters share, e.g. 经营范围, is asked once; it is required if any matter requires it)."""
    merged: dict[str, ExtraField] = {}
    for matter in matters:
        for extra in matter.extra_fields:
            seen = merged.get(extra.name)
            if seen is None:
                merged[extra.name] = extra
            elif extra.required and not seen.required:
                merged[extra.name] = ExtraField(seen.name, seen.label, seen.type, True, seen.choices)
    return tuple(merged.values())


def _extras(
    f: _Findings, form: IntakeForm, matters: tuple[Matter, ...], outcome: Outcome
) -> tuple[tuple[str, str], ...]:
    """The values of the chosen matters' extra fields, checked by type; values of fields no chosen
    matter asks for are dropped. Required fields block acceptance and on-the-spot completion."""
    given: dict[str, object] = {}
    pairs = form.extra if isinstance(form.extra, tuple | list) else ()
    for pair in pairs[:200]:
        if isinstance(pair, tuple | list) and len(pair) == 2 and isinstance(pair[0], str):
            given[pair[0]] = pair[1]
    needs_all = outcome in (Outcome.ACCEPT, Outcome.ON_THE_SPOT)
    values: list[tuple[str, str]] = []
    for extra in extra_fields_of(matters):
        name = f"extra.{extra.name}"
        raw = given.get(extra.name, "")
        if not isinstance(raw, str):
            f.add(name, _("“{label}”应为文字").format(label=extra.label))
            continue
        before = len(f.problems)
        text = f.text("extra", raw, 1000, lines=extra.type is FieldType.TEXT)
        if len(f.problems) > before:
            problem = f.problems.pop()
            f.add(name, _("“{label}”：{message}").format(label=extra.label, message=problem.message))
            continue
        if not text:
            if extra.required and needs_all:
                f.add(name, _("请填写“{label}”").format(label=extra.label))
            continue
        if extra.type is FieldType.NUMBER:
            try:
                number = Decimal(text.replace(",", "").replace("，", ""))
            except InvalidOperation:
                number = Decimal("NaN")
            if not number.is_finite() or number < 0:
                f.add(name, _("“{label}”应为不小于 0 的数字").format(label=extra.label))
                continue
            text = format(number.normalize(), "f") if number == number.to_integral() else format(number, "f")
        elif extra.type is FieldType.DATE:
            try:
                text = dt.date.fromisoformat(text).isoformat()
            except ValueError:
                f.add(name, _("“{label}”应为日期，如 2026-01-31").format(label=extra.label))
                continue
        elif extra.type is FieldType.CHOICE and text not in extra.choices:
            f.add(
                name,
                _("“{label}”应为以下之一：{choices}").format(
                    label=extra.label, choices="、".join(extra.choices)
                ),
            )
            continue
        values.append((extra.name, text))
    return tuple(values)
