"""What every page gets: the runtime, who is signed in, the task runner and the error reporter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from clerk_app.gui.errors import ErrorReporter
from clerk_app.gui.tasks import TaskRunner
from clerk_app.i18n import _
from clerk_app.security.roles import Permission, Role, allows
from clerk_app.services.auth import AuthService, UserSession
from clerk_app.services.runtime import Runtime

#: a page's margins (left, top, right, bottom), and those on a small monitor
MARGINS = (24, 16, 24, 16)
COMPACT_MARGINS = (10, 4, 10, 4)


@dataclass
class PageContext:
    runtime: Runtime
    session: UserSession
    tasks: TaskRunner
    errors: ErrorReporter
    auth: AuthService


class Page(QWidget):
    key: ClassVar[str]
    title: ClassVar[str]  # marked with N_, translated when shown
    #: None: every signed-in user; admins see only ADMINISTER pages and pages with None
    permission: ClassVar[Permission | None] = None

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName(f"page_{self.key}")
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(*MARGINS)
        self.heading = QLabel(_(self.title))
        self.heading.setObjectName("pageTitle")
        self.layout_.addWidget(self.heading)

    def set_compact(self, compact: bool) -> None:
        """On a small counter monitor (1366×768): narrow margins and no heading (the navigation
        shows which page this is), so that a form fits beside the docked queue panel."""
        self.layout_.setContentsMargins(*(COMPACT_MARGINS if compact else MARGINS))
        self.heading.setVisible(not compact)

    def set_dock_compact(self, compact: bool) -> None:
        """Docked beside the pages (its margins and heading set by the dock): lay out for a small
        monitor or a large one. Nothing by default."""

    def fit_width(self, width: int) -> None:
        """The window leaves this page ``width`` px: a page that can reflow does so here."""

    @classmethod
    def visible_to(cls, role: Role) -> bool:
        return cls.permission is None or allows(role, cls.permission)

    def activated(self) -> None:
        """Called each time the page is shown; refresh data here (through ctx.tasks)."""
