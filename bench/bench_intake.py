"""Benchmarks of one-form intake: saving an accepted case end to end through the service.

- ``accept_case_ms``: :meth:`IntakeService.accept` of an organisation applicant with 3 matters
  (企业设立登记, 企业变更登记, 不动产转移登记: 15 materials, 4 matter-specific fields) on a
  SQLite workstation store — every check (identifiers, text rules, catalogue, materials, extra
  fields), the promised completion from the deadline engine, the case number, one unit of work
  with 1 applicant + 1 case + 15 materials + 1 event rows and their outbox entries, and the drop of
  the draft. Median per case; goal ≤ 50 ms. Side by side, in alternating rounds of the same run,
  the baseline is the bare Core ``INSERT``s of the same rows in one transaction (no checks, no
  deadline, no version/HLC stamping, no outbox); ratio = service / baseline.
- ``accept_case_p95_ms``: the 95th percentile of the same service calls.
- ``accept_with_notices_ms``: the same accept with the 受理通知书 numbered, rendered (PDF) and
  archived in the same unit of work (what the window waits for before the preview); goal ≤ 300 ms.
- ``accept_with_ticket_link_ms``: the same accept (no notices) with the served ticket linked to
  the case by its id through ``QueueService.link_case`` on a SQLite central store right after the
  case commits; baseline: the same accept without a ticket, in alternating rounds of the same run.

``run(quick)`` returns dicts with ``name``, ``value``, ``unit``, ``goal`` (and ``baseline``/``ratio``).
Run alone: ``python bench/bench_intake.py [--quick]``.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from clerk_app.documents.archive import Archive
from clerk_app.documents.dto import DocType
from clerk_app.documents.numbers import NumberingSettings, refill
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.workdays import WorkCalendar
from clerk_app.security.roles import Role
from clerk_app.services.auth import UserSession
from clerk_app.services.documents import CaseDocuments
from clerk_app.services.intake import (
    AgentIn,
    ApplicantIn,
    IntakeForm,
    IntakeService,
    MaterialIn,
    MaterialState,
)
from clerk_app.services.intake_notices import NoticeIssuer
from clerk_app.services.queue import QueueService, seed_demo_queue
from clerk_app.services.runtime import open_store
from clerk_app.store.models.cases import Applicant, Case, CaseEventRecord, CaseMaterial
from clerk_app.store.uow import Store

MATTERS = (
    "113501000300100158000105001000001",  # 企业设立登记
    "113501000300100158000105002000002",  # 企业变更登记
    "11350100030010058M000110002000002",  # 不动产转移登记（二手房买卖）
)
EXTRA = (
    ("enterprise_kind", "有限责任公司"),
    ("registered_capital", "100"),
    ("business_scope", "药品零售；医疗器械销售"),
    ("staff_count", "12"),
)


def _session() -> UserSession:
    return UserSession(uuid.uuid4(), "bench", "王晓燕", Role.CLERK, 7, "示例市政务服务中心")


def _form(service: IntakeService) -> IntakeForm:
    materials = service.materials_for(MATTERS)
    assert len(materials) == 15, len(materials)
    return IntakeForm(
        applicant=ApplicantIn(
            kind="organisation",
            id_number="91350100M000100Y43",
            name="示例大药房连锁有限公司",
            phone="0591-87654321",
            address="示例市新城区政务服务路 1 号",
            legal_representative="李四",
        ),
        matter_codes=MATTERS,
        materials=tuple(
            MaterialIn(m.key, MaterialState.RECEIVED, form="copy" if i % 3 else "original", count=1 + i % 2)
            for i, m in enumerate(materials)
        ),
        agent=AgentIn("张三", "111", "11010519491231002X", "13800138000"),
        delivery="mail",
        delivery_address="示例市新城区某路 8 号",
        ticket_number="A012",
        extra=EXTRA,
    )


def _bare_rows(store: Store, n: int) -> None:
    """The same rows as one accepted case, inserted with Core in one transaction."""
    now = dt.datetime.now(dt.UTC)
    stamp = {"origin": store.device_id, "version": 1, "hlc": "0", "deleted": False}
    applicant_id, case_id = uuid.uuid4(), uuid.uuid4()
    with store.engine.begin() as conn:
        conn.execute(
            insert(Applicant),
            [
                {
                    "id": applicant_id,
                    "kind": "organisation",
                    "id_type": "001",
                    "id_number": "91350100M000100Y43",
                    "name": "示例大药房连锁有限公司",
                    "phone": "059187654321",
                    "address": "示例市新城区政务服务路 1 号",
                    "legal_representative": "李四",
                    "updated_at": now,
                    **stamp,
                }
            ],
        )
        conn.execute(
            insert(Case),
            [
                {
                    "id": case_id,
                    "case_number": f"BARE{n:08d}",
                    "applicant_id": applicant_id,
                    "matter_codes": list(MATTERS),
                    "bundle_code": "",
                    "status": "accepted",
                    "received_at": now,
                    "accepted_at": now,
                    "promised_due": now,
                    "promised_date": now.date(),
                    "provisional": False,
                    "clerk_id": uuid.uuid4(),
                    "clerk_name": "王晓燕",
                    "window_number": 7,
                    "delivery": "mail",
                    "delivery_address": "示例市新城区某路 8 号",
                    "agent_name": "张三",
                    "agent_id_type": "111",
                    "agent_id_number": "11010519491231002X",
                    "agent_phone": "13800138000",
                    "cross_region": False,
                    "other_region": "",
                    "ticket_number": "A012",
                    "reason": "",
                    "legal_basis": "",
                    "extra": dict(EXTRA),
                    **stamp,
                }
            ],
        )
        conn.execute(
            insert(CaseMaterial),
            [
                {
                    "id": uuid.uuid4(),
                    "case_id": case_id,
                    "material_key": f"m{i}",
                    "name": f"材料{i}",
                    "required": True,
                    "state": "received",
                    "form": "copy",
                    "count": 1,
                    "due_date": None,
                    "note": "",
                    **stamp,
                }
                for i in range(15)
            ],
        )
        conn.execute(
            insert(CaseEventRecord),
            [
                {
                    "id": uuid.uuid4(),
                    "case_id": case_id,
                    "event": "accept",
                    "from_state": "received",
                    "to_state": "accepted",
                    "at": now,
                    "actor_id": uuid.uuid4(),
                    "actor_name": "王晓燕",
                    "window_number": 7,
                    "reason": "",
                    "legal_basis": "",
                    "detail": {"matters": list(MATTERS)},
                    **stamp,
                }
            ],
        )


def _ms(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def run(quick: bool = False) -> list[dict[str, Any]]:
    rounds, per_round = (3, 10) if quick else (5, 60)
    catalogue, calendar = load_demo_catalogue(), WorkCalendar()
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as folder:
        base = Path(folder)
        store = open_store(f"sqlite+pysqlite:///{base / 'local.sqlite'}")
        central = open_store(f"sqlite+pysqlite:///{base / 'central.sqlite'}", kind="central")
        try:
            service = IntakeService(store, catalogue, calendar)
            session = _session()
            form = _form(service)
            for _ in range(3):  # warm-up: imports, statement caches, calendar span
                service.accept(session, form)
                _bare_rows(store, -1 - _)
            served: list[float] = []
            bare: list[float] = []
            n = 0
            for _ in range(rounds):
                for _ in range(per_round):
                    draft = service.save_draft(session, form)
                    t0 = time.perf_counter()
                    service.accept(session, form, draft_id=draft.id)
                    served.append(time.perf_counter() - t0)
                for _ in range(per_round):
                    n += 1
                    t0 = time.perf_counter()
                    _bare_rows(store, n)
                    bare.append(time.perf_counter() - t0)
            desk = CaseDocuments(
                Archive(base / "archive"), store.device_id, catalogue=catalogue, calendar=calendar
            )
            issuer = NoticeIssuer(desk)
            noticing = IntakeService(store, catalogue, calendar, notices=issuer)
            year = dt.datetime.now(dt.UTC).year
            count = 10 if quick else 40
            refill(store, central, DocType.ACCEPTANCE.value, year, NumberingSettings(block_size=count + 10))
            noticing.accept(session, form)  # warm-up: fonts, templates
            with_notice: list[float] = []
            for _ in range(count - 1):
                t0 = time.perf_counter()
                noticing.accept(session, form)
                with_notice.append(time.perf_counter() - t0)
            linked, unlinked = _ticket_link(store, central, service, session, form, 3 if quick else 20)
        finally:
            store.dispose()
            central.dispose()
    median, p95 = _ms(served)
    bare_median, bare_p95 = _ms(bare)
    notice_median, _p95 = _ms(with_notice)
    return [
        {
            "name": "accept_case_ms",
            "value": round(median, 2),
            "unit": "ms/case (median; 3 matters, 15 materials)",
            "goal": "<= 50",
            "baseline": round(bare_median, 2),
            "ratio": round(median / bare_median, 2),
        },
        {
            "name": "accept_case_p95_ms",
            "value": round(p95, 2),
            "unit": "ms/case (p95)",
            "goal": "<= 100",
            "baseline": round(bare_p95, 2),
            "ratio": round(p95 / bare_p95, 2),
        },
        {
            "name": "accept_with_notices_ms",
            "value": round(notice_median, 2),
            "unit": "ms/case (median, 受理通知书 rendered and archived)",
            "goal": "<= 300",
        },
        {
            "name": "accept_with_ticket_link_ms",
            "value": round(_ms(linked)[0], 2),
            "unit": "ms/case (median, ticket linked in the central queue)",
            "goal": "<= 80",
            "baseline": round(_ms(unlinked)[0], 2),
            "ratio": round(_ms(linked)[0] / _ms(unlinked)[0], 2),
        },
    ]


def _ticket_link(
    store: Store, central: Store, plain: IntakeService, session: UserSession, form: IntakeForm, rounds: int
) -> tuple[list[float], list[float]]:
    """Accept with the served ticket linked, and without, alternating (queue steps not timed)."""
    seed_demo_queue(central)
    queue = QueueService(central)
    linking = IntakeService(store, plain.catalogue, plain.rules.calendar, tickets=lambda _offline: queue)
    linked: list[float] = []
    unlinked: list[float] = []
    for _ in range(rounds):
        for _ in range(5):
            queue.issue("A")
            ticket = queue.call_next(session, uuid.uuid4().hex)
            assert ticket is not None
            queue.start(session, ticket.id, uuid.uuid4().hex)
            served = replace(form, ticket_number=ticket.number, ticket_id=str(ticket.id))
            t0 = time.perf_counter()
            result = linking.accept(session, served)
            linked.append(time.perf_counter() - t0)
            assert result.ticket_linked, result.warnings
            queue.finish(session, ticket.id, uuid.uuid4().hex)
        for _ in range(5):
            t0 = time.perf_counter()
            plain.accept(session, form)
            unlinked.append(time.perf_counter() - t0)
    return linked, unlinked


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), ensure_ascii=False, indent=1))
