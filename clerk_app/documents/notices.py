"""The notice set of the Administrative Licensing Law (art. 32, 38, 44): DTO + templates → story.

Each ``*_story`` function returns the platypus flowables of one document; :mod:`render` lays them
out. Wording and number formats come from the templates (``documents.toml``/``matters.toml``);
the data comes only from the DTO. Every field that DOMAIN.md lists for a notice is printed, empty
optional fields as a blank line for the pen.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer

from clerk_app.documents.dto import (
    AcceptanceNotice,
    Applicant,
    Clerk,
    CommitmentLetter,
    CorrectionNotice,
    DecisionKind,
    DecisionNotice,
    DeliveryReceipt,
    DocType,
    Material,
    RefusalNotice,
    ToleranceNotice,
)
from clerk_app.documents.layout import (
    SealBlock,
    Styles,
    blank,
    cn_date,
    cn_minute,
    field_grid,
    field_table,
    para,
    receipt_section,
    signature_line,
    table,
    title_block,
)
from clerk_app.documents.templates import Templates, Wording, fill

Story = list[Flowable]


def _base_values(templates: Templates, wording: Wording, number: str) -> dict[str, str]:
    hall = templates.hall
    return {
        "authority": hall.authority,
        "hall_name": hall.hall_name,
        "contact_phone": hall.contact_phone,
        "review_body": hall.review_body,
        "court": hall.court,
        "title": wording.title,
        "number": blank(number, 8),
    }


def _paragraphs(wording: Wording, key: str, values: dict[str, str], styles: Styles) -> Story:
    return [para(fill(line, values), styles.body) for line in wording.lines(key)]


def _opening(wording: Wording, number: str, values: dict[str, str], styles: Styles) -> Story:
    story = title_block(wording.title, number, styles)
    salutation = wording.text("salutation")
    if salutation:
        story.append(para(fill(salutation, values), styles.plain))
    story.extend(_paragraphs(wording, "body", values, styles))
    return story


def _applicant_rows(applicant: Applicant) -> list[tuple[str, str]]:
    rows = [
        ("申请人", applicant.name),
        ("证件类型", applicant.id_type),
        ("证件号码", applicant.id_number),
        ("联系电话", applicant.phone),
    ]
    if applicant.address:
        rows.append(("联系地址", applicant.address))
    if applicant.agent:
        rows.append(("代办人", applicant.agent))
    return rows


def _materials(materials: Sequence[Material], styles: Styles) -> Flowable:
    rows = [
        [str(i), m.name, m.form, "" if m.copies is None else str(m.copies), m.note]
        for i, m in enumerate(materials, 1)
    ]
    if not rows:
        rows = [["", "无", "", "", ""]]
    return table(["序号", "材料名称", "形式", "份数", "备注"], rows, [0.08, 0.46, 0.14, 0.1, 0.22], styles)


def _clerk_line(clerk: Clerk, templates: Templates, styles: Styles) -> Flowable:
    parts = [f"经办人：{clerk.name}"]
    if clerk.window:
        parts.append(f"受理窗口：{clerk.window}")
    parts.append(f"联系电话：{clerk.phone or templates.hall.contact_phone}")
    return para("    ".join(parts), styles.plain)


def _seal(templates: Templates, date_text: str, styles: Styles) -> Story:
    return [
        Spacer(1, 8 * mm),
        SealBlock(templates.hall.authority, date_text, templates.hall.seal_image, styles),
    ]


def _closing(
    wording: Wording, values: dict[str, str], templates: Templates, date_text: str, styles: Styles
) -> Story:
    story: Story = [Spacer(1, 2 * mm)]
    story.extend(para(fill(line, values), styles.body) for line in wording.lines("notes"))
    # GB/T 9704 §7.3.5.4: the seal never stands alone on a page — the last lines go with it.
    last = _paragraphs(wording, "closing", values, styles)
    if not last and len(story) > 1:
        last = [story.pop()]
    story.append(KeepTogether([*last, *_seal(templates, date_text, styles)]))
    if wording.flag("receipt"):
        story.append(receipt_section(wording.title, fill(wording.text("receipt_body"), values), styles))
    return story


def acceptance_story(doc: AcceptanceNotice, templates: Templates, styles: Styles) -> Story:
    """受理通知书: matters, dates, materials complete, clerk and contact, promised date."""
    wording = templates.wording(DocType.ACCEPTANCE, doc.matter_code)
    values = _base_values(templates, wording, doc.number) | {
        "applicant": doc.applicant.name,
        "matters": "、".join(doc.matters),
        "application_date": cn_date(doc.application_date),
        "accepted_at": cn_minute(doc.accepted_at),
        "promised_date": cn_date(doc.promised_date),
    }
    story = _opening(wording, doc.number, values, styles)
    story.append(_materials(doc.materials, styles))
    story.append(Spacer(1, 4 * mm))
    rows = [
        ("受理编号", doc.case_no),
        *_applicant_rows(doc.applicant),
        ("申请事项", "、".join(doc.matters)),
        ("申请日期", cn_date(doc.application_date)),
        ("受理时间", cn_minute(doc.accepted_at)),
        ("承诺办结日期", cn_date(doc.promised_date)),
        ("受理人", doc.clerk.name),
        ("受理窗口", doc.clerk.window),
        ("咨询电话", doc.clerk.phone or templates.hall.contact_phone),
    ]
    story.append(field_grid(rows, styles))
    story.extend(_closing(wording, values, templates, cn_date(doc.issue_date), styles))
    return story


def refusal_story(doc: RefusalNotice, templates: Templates, styles: Styles) -> Story:
    """不予受理通知书: reason, legal basis, competent authority, remedies, returned materials."""
    wording = templates.wording(DocType.REFUSAL, doc.matter_code)
    values = _base_values(templates, wording, doc.number) | {
        "applicant": doc.applicant.name,
        "matters": "、".join(doc.matters),
        "application_date": cn_date(doc.application_date),
        "competent_authority": doc.competent_authority,
        "review_body": doc.review_body or templates.hall.review_body,
        "court": doc.court or templates.hall.court,
    }
    story = _opening(wording, doc.number, values, styles)
    rows = [
        ("受理编号", doc.case_no),
        *_applicant_rows(doc.applicant),
        ("申请事项", "、".join(doc.matters)),
        ("申请日期", cn_date(doc.application_date)),
    ]
    story.append(field_grid(rows, styles))
    story.append(Spacer(1, 3 * mm))
    story.append(para(wording.text("reason_label") + doc.reason, styles.body))
    story.append(para(wording.text("basis_label") + doc.legal_basis, styles.body))
    if doc.competent_authority:
        story.append(para(fill(wording.text("redirect"), values), styles.body))
    story.append(para(fill(wording.text("remedies"), values), styles.body))
    story.append(para(wording.text("returned_title"), styles.subtitle))
    story.append(_materials(doc.returned_materials, styles))
    story.append(_clerk_line(doc.clerk, templates, styles))
    story.extend(_closing(wording, values, templates, cn_date(doc.issue_date), styles))
    return story


def correction_story(doc: CorrectionNotice, templates: Templates, styles: Styles) -> Story:
    """补正材料通知书 / 一次性告知书: every missing item with its reason, the deadline, a receipt."""
    wording = templates.wording(doc.doc_type, doc.matter_code)
    values = _base_values(templates, wording, doc.number) | {
        "applicant": doc.applicant.name,
        "matter": doc.matter,
        "deadline": cn_date(doc.deadline),
        "enquiry_phone": doc.enquiry_phone or templates.hall.contact_phone,
    }
    story = _opening(wording, doc.number, values, styles)
    rows = [("受理编号", doc.case_no), ("申请事项", doc.matter), *_applicant_rows(doc.applicant)]
    story.append(field_grid(rows, styles))
    story.append(Spacer(1, 3 * mm))
    missing = [[str(i), m.name, m.reason, m.requirement] for i, m in enumerate(doc.missing, 1)]
    story.append(table(["序号", "需补正材料", "补正原因", "要求"], missing, [0.08, 0.34, 0.34, 0.24], styles))
    story.append(Spacer(1, 3 * mm))
    story.append(para(fill(wording.text("deadline_text"), values), styles.body))
    story.append(para(fill(wording.text("enquiry"), values), styles.body))
    story.extend(_closing(wording, values, templates, cn_date(doc.issue_date), styles))
    return story


def tolerance_story(doc: ToleranceNotice, templates: Templates, styles: Styles) -> Story:
    """容缺受理通知书, then the applicant's 承诺书 on its own page."""
    wording = templates.wording(DocType.TOLERANCE, doc.matter_code)
    consequence = doc.consequence or wording.text("consequence")
    values = _base_values(templates, wording, doc.number) | {
        "applicant": doc.applicant.name,
        "matter": doc.matter,
        "consequence": consequence,
    }
    story = _opening(wording, doc.number, values, styles)
    rows = [("受理编号", doc.case_no), ("申请事项", doc.matter), *_applicant_rows(doc.applicant)]
    story.append(field_grid(rows, styles))
    story.append(Spacer(1, 3 * mm))
    deferred = [[str(i), d.name, d.form, cn_date(d.deadline)] for i, d in enumerate(doc.deferred, 1)]
    story.append(
        table(["序号", "容缺材料", "提交形式", "补齐期限"], deferred, [0.08, 0.48, 0.2, 0.24], styles)
    )
    story.append(para("逾期后果：" + consequence, styles.body))
    story.append(_clerk_line(doc.clerk, templates, styles))
    story.extend(_closing(wording, values, templates, cn_date(doc.issue_date), styles))
    story.append(PageBreak())
    story.extend(title_block(wording.text("pledge_title"), doc.number, styles))
    story.extend(_paragraphs(wording, "pledge_body", values, styles))
    story.append(Spacer(1, 3 * mm))
    story.append(
        table(["序号", "容缺材料", "提交形式", "补齐期限"], deferred, [0.08, 0.48, 0.2, 0.24], styles)
    )
    story.append(Spacer(1, 10 * mm))
    story.append(para(f"承诺人：{doc.applicant.name}", styles.plain))
    story.append(signature_line(["承诺人（签名/盖章）"], styles))
    return story


def commitment_story(doc: CommitmentLetter, templates: Templates, styles: Styles) -> Story:
    """告知承诺书: proofs replaced, their basis, the promise, liability, verification, signatures."""
    wording = templates.wording(DocType.COMMITMENT, doc.matter_code)
    values = _base_values(templates, wording, doc.number) | {
        "applicant": doc.applicant.name,
        "matter": doc.matter,
    }
    story = _opening(wording, doc.number, values, styles)
    rows = [("申请事项", doc.matter), *_applicant_rows(doc.applicant)]
    if doc.case_no:
        rows.insert(0, ("受理编号", doc.case_no))
    story.append(field_grid(rows, styles))
    story.append(Spacer(1, 3 * mm))
    items = [[str(i), it.proof, it.legal_basis, it.promise] for i, it in enumerate(doc.items, 1)]
    header = ["序号", "以承诺替代的证明材料", "设定依据", "承诺内容"]
    story.append(table(header, items, [0.08, 0.3, 0.3, 0.32], styles))
    story.append(para(wording.text("verification_label") + doc.verification, styles.body))
    if doc.verification_deadline is not None:
        deadline = cn_date(doc.verification_deadline)
        story.append(para(wording.text("deadline_label", "核查期限：") + deadline, styles.body))
    liability = doc.liability or wording.text("liability")
    story.append(para("不实承诺的责任：" + liability, styles.body))
    story.append(para(wording.text("promise_intro"), styles.plain))
    story.extend(_paragraphs(wording, "promise", values, styles))
    story.append(Spacer(1, 8 * mm))
    story.append(signature_line(["申请人（签名/盖章）"], styles))
    story.extend(_seal(templates, cn_date(doc.issue_date), styles))
    return story


def decision_story(doc: DecisionNotice, templates: Templates, styles: Styles) -> Story:
    """准予/不予许可决定书 and 办结通知书: content, basis, date; reason and remedies on denial."""
    wording = templates.wording(doc.doc_type, doc.matter_code)
    values = _base_values(templates, wording, doc.number) | {
        "applicant": doc.applicant.name,
        "matter": doc.matter,
        "legal_basis": doc.legal_basis,
        "decision_date": cn_date(doc.decision_date),
        "review_body": doc.review_body or templates.hall.review_body,
        "court": doc.court or templates.hall.court,
    }
    story = _opening(wording, doc.number, values, styles)
    rows = [("受理编号", doc.case_no), ("申请事项", doc.matter), *_applicant_rows(doc.applicant)]
    rows.append(("决定日期", cn_date(doc.decision_date)))
    story.append(field_grid(rows, styles))
    story.append(Spacer(1, 3 * mm))
    story.append(para(wording.text("content_label") + doc.content, styles.body))
    story.append(para("法律依据：" + doc.legal_basis, styles.body))
    if doc.kind is DecisionKind.DENIAL:
        story.append(para(wording.text("reason_label") + doc.reason, styles.body))
        story.append(para(fill(wording.text("remedies"), values), styles.body))
    elif doc.pickup:
        story.append(para(wording.text("pickup_label") + doc.pickup, styles.body))
    story.extend(_closing(wording, values, templates, cn_date(doc.decision_date), styles))
    return story


def delivery_story(doc: DeliveryReceipt, templates: Templates, styles: Styles) -> Story:
    """送达回证: document and number, recipient, time to the minute, place, method, signatures."""
    wording = templates.wording(DocType.DELIVERY)
    story = title_block(wording.title, doc.number, styles)
    rows = [
        ("送达文书名称", doc.document_title),
        ("文书编号", doc.document_number),
        ("受理编号", doc.case_no),
        ("受送达人", doc.recipient),
        ("送达时间", cn_minute(doc.served_at)),
        ("送达地点", doc.place),
        ("送达方式", doc.method),
        ("受送达人签名", ""),
        ("送达人", doc.server),
        ("见证人", doc.witness),
        ("备注", doc.remarks),
    ]
    story.append(field_table(rows, styles, label_share=0.28))
    story.append(Spacer(1, 3 * mm))
    story.append(para(wording.text("note"), styles.small))
    story.extend(_seal(templates, cn_date(doc.served_at.date()), styles))
    return story
