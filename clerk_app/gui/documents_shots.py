"""Screenshots of the document screens (registered in ``clerk_app.gui.screenshots.SHOTS``): the 文书
page with an issued notice open in the preview, and the verification of a scanned QR payload."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from clerk_app.documents import samples
from clerk_app.documents.archive import Archive, issue
from clerk_app.documents.dto import CorrectionNotice, DocType, Licence
from clerk_app.documents.numbers import refill
from clerk_app.documents.signing import publish_key
from clerk_app.documents.templates import load_templates
from clerk_app.documents.verification import Signer, licence_fields
from clerk_app.gui.pages.documents import DocumentsPage

if TYPE_CHECKING:
    from clerk_app.gui.screenshots import ShotContext

ISSUER_CODE = "11150100MB0000000X"
ISSUER_NAME = "示例市行政审批和政务服务局"


def _issue_correction(ctx: ShotContext) -> None:
    runtime = ctx.station.runtime
    refill(runtime.local, runtime.central, DocType.CORRECTION.value, 2026)
    base = next(d for d in samples.realistic() if isinstance(d, CorrectionNotice))
    with runtime.local.unit_of_work() as uow:
        issue(
            uow,
            Archive(runtime.paths.data / "documents"),
            load_templates(),
            DocType.CORRECTION,
            lambda number: dataclasses.replace(base, number=number),
            device_id=runtime.device_id,
            actor_name="wangxy",
            year=2026,
        )
        uow.commit()


def shot_documents_preview(ctx: ShotContext) -> list[Path]:
    _issue_correction(ctx)
    main = ctx.main_window("wangxy", "Window#2026", 3)
    page = main.show_page("documents")
    assert isinstance(page, DocumentsPage)
    main.show()
    ctx.settle()
    page.table.selectRow(0)
    page.preview_selected()
    ctx.settle()
    paths = [ctx.save(main, "documents-page")]
    for dialog in list(page._dialogs):
        dialog.resize(900, 740)
        paths.append(ctx.save(dialog, "documents-preview"))
        dialog.close()
    main.close()
    return paths


def shot_documents_verify(ctx: ShotContext) -> list[Path]:
    signer = Signer.generate()  # a throw-away key: the screenshots never touch the keyring
    with ctx.station.runtime.local.unit_of_work() as uow:
        publish_key(uow, signer, ISSUER_CODE, ISSUER_NAME)
        uow.commit()
    licence = next(d for d in samples.realistic() if isinstance(d, Licence))
    main = ctx.main_window("wangxy", "Window#2026", 3)
    page = main.show_page("documents")
    assert isinstance(page, DocumentsPage)
    page.verify_input.setText(signer.sign(licence_fields(licence)))
    page.verify()
    path = ctx.save(main, "documents-verify")
    main.close()
    return [path]


DOCUMENTS_SHOTS = [shot_documents_preview, shot_documents_verify]
