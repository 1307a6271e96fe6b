"""Print an archived document from a page and record in the archive what the printer took.

The intake, cases and documents pages print the same way: the paper kind's printer (asked when the
clerk wants to choose), the jobs on a background job with a cancellable progress dialog, then one
unit of work on the database worker that records each printed document (a reprint is recorded when
it is made, not again here).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from clerk_app.documents import archive as archive_mod
from clerk_app.gui.pages.base import PageContext
from clerk_app.gui.printing import (
    PrintJob,
    PrintResult,
    ask_printer,
    load_choices,
    make_printer,
    print_in_background,
)


class Printable(Protocol):
    """What an issued or archived document offers for printing."""

    @property
    def id(self) -> Any: ...
    @property
    def title(self) -> str: ...
    @property
    def pdf(self) -> bytes: ...
    @property
    def doc_type(self) -> str: ...
    @property
    def sha256(self) -> str: ...


def print_documents(
    ctx: PageContext,
    parent: Any,
    documents: Sequence[Printable],
    *,
    ask: bool = True,
    on_recorded: Callable[[Any], None] | None = None,
) -> None:
    """Print ``documents`` (all of the first one's paper kind) and record the prints."""
    if not documents:
        return
    printer = make_printer(documents[0].doc_type, load_choices(ctx.runtime.paths.config))
    if ask and not ask_printer(printer, parent):
        return
    jobs = [PrintJob(d.title, d.pdf, d.doc_type, uuid.UUID(str(d.id)), d.sha256) for d in documents]
    print_in_background(
        ctx.tasks, jobs, printer, parent, lambda result: record_prints(ctx, result, on_recorded), ctx.errors
    )


def record_prints(
    ctx: PageContext, result: PrintResult, on_done: Callable[[Any], None] | None = None
) -> None:
    """One unit of work on the database worker recording every document the printer took."""
    local, device, actor = ctx.runtime.local, ctx.runtime.device_id, ctx.session.username

    def record() -> None:
        with local.unit_of_work() as uow:
            for job in result.printed:
                if job.document_id is not None and job.doc_type != "reprint":
                    archive_mod.record_print(
                        uow,
                        job.document_id,
                        device_id=device,
                        actor_name=actor,
                        printer=result.printer,
                        sha256=job.sha256,
                    )
            uow.commit()

    ctx.tasks.db(record, on_done, ctx.errors)


__all__ = ["Printable", "print_documents", "record_prints"]
