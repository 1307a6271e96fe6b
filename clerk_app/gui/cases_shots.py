"""Screenshot of the cases screen (registered in ``clerk_app.gui.screenshots.SHOTS``): a few
realistic cases made through the intake service at earlier dates — one overdue, one due
tomorrow, one awaiting correction, one from a colleague (its ID number masked), one taken through
review, decision and delivery with their documents (准予行政许可决定书, 送达回证) — and the list with
the delivered case's history and documents open; then the 送达回证 as the preview shows it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from clerk_app.gui.pages.cases import CasesPage
from clerk_app.services.auth import UserSession
from clerk_app.services.case_documents import StepDocuments
from clerk_app.services.cases import CaseService
from clerk_app.services.documents import IssuedNotice, refill_due
from clerk_app.services.intake import ApplicantIn, IntakeForm, IntakeService, MaterialIn
from clerk_app.services.runtime import Runtime

if TYPE_CHECKING:
    from clerk_app.gui.screenshots import ShotContext

MIGRATION = "113501000300100233000107003000003"  # 户口迁移（准予迁入）, 5 working days
PROPERTY = "11350100030010058M000110002000002"  # 不动产转移登记（二手房买卖）, 1 working day
RESIDENCE = "113501000300100233000107007000007"  # 居住证签发, 10 working days
HR_LICENCE = "1135010003001004XM000109005000005"  # 人力资源服务许可, 5 working days
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _resident_id(body: str) -> str:
    """A resident ID number with its check character (GB 11643)."""
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def _form(intake: IntakeService, code: str, applicant: ApplicantIn, missing: int = 0) -> IntakeForm:
    materials = intake.materials_for((code,))[missing:]
    return IntakeForm(
        applicant=applicant, matter_codes=(code,), materials=tuple(MaterialIn(m.key) for m in materials)
    )


def seed_cases(runtime: Runtime, me: UserSession, colleague: UserSession) -> tuple[str, IssuedNotice | None]:
    """Cases in several states; returns the number of the delivered one and its 送达回证."""
    now = dt.datetime.now(dt.UTC).replace(hour=2, minute=0, second=0, microsecond=0)

    def intake_at(days_ago: int) -> IntakeService:
        return IntakeService(runtime.local, clock=lambda: now - dt.timedelta(days=days_ago))

    def person(name: str, body: str, phone: str) -> ApplicantIn:
        return ApplicantIn(name=name, id_number=_resident_id(body), phone=phone, address="呼和浩特市新城区")

    old = intake_at(21)
    old.accept(me, _form(old, MIGRATION, person("赵丽娟", "15010219850312002", "13847112345")))
    today = intake_at(0)
    today.accept(me, _form(today, PROPERTY, person("孙建军", "15010519720608151", "13904716688")))
    recent = intake_at(3)
    recent.request_correction(
        me, _form(recent, RESIDENCE, person("马晓燕", "15020319950101202", "15004711234"), missing=1)
    )
    colleague_case = intake_at(1)
    colleague_case.accept(
        colleague, _form(colleague_case, RESIDENCE, person("王志强", "15010219880808301", "18647100011"))
    )
    company = ApplicantIn(
        kind="organisation",
        id_number="91350100M000100Y43",
        name="呼和浩特市青城人力资源服务有限公司",
        phone="0471-6901234",
        legal_representative="高海峰",
    )
    done_by = intake_at(8)
    done = done_by.accept(me, _form(done_by, HR_LICENCE, company))
    steps = StepDocuments.for_runtime(runtime)
    refill_due(
        runtime.local, runtime.central, doc_types=steps.doc_types("approve") + steps.doc_types("deliver")
    )
    cases = CaseService(runtime.local, documents=steps)
    cases.start_review(me, done.case_id, "材料齐全，转审查")
    cases.decide(me, done.case_id, "approve", "经审查符合许可条件")
    delivered = cases.deliver(
        me, done.case_id, "pickup", signature_note="法定代表人当场签收", recipient="高海峰"
    )
    return done.case_number, (delivered.issued[0] if delivered.issued else None)


def shot_cases(ctx: ShotContext) -> list[Path]:
    auth = ctx.station.auth
    me = auth.login(3, "wangxy", "Window#2026")
    delivered, receipt = seed_cases(ctx.station.runtime, me, auth.login(5, "lijg", "Window#2026"))
    main = ctx.station.open_main(me)
    main.resize(1920, 1080)
    page = main.show_page("cases")
    assert isinstance(page, CasesPage)
    for _attempt in range(50):  # the list arrives from the database worker
        ctx.settle(0.2)
        if page.last_page is not None and page.results.rowCount():
            break
    for row in range(page.results.rowCount()):
        item = page.results.item(row, 0)
        if item is not None and item.text() == delivered:
            page.results.selectRow(row)
    for _attempt in range(50):  # and then the selected case's detail
        ctx.settle(0.2)
        if page.detail is not None and page.detail.row.case_number == delivered:
            break
    paths = [ctx.save(main, "cases-screen")]
    if receipt is not None:
        preview = page.show_preview(receipt)
        preview.resize(820, 1000)
        ctx.settle(0.5)
        paths.append(ctx.save(preview, "cases-delivery-receipt"))
        preview.close()
    main.close()
    return paths


CASES_SHOTS = [shot_cases]
