"""Pages of the workstation's navigation. Each area adds its page class to ``PAGES``; a page
appears only for roles that hold its permission (the services check again)."""

from __future__ import annotations

from clerk_app.gui.pages.appointments import AppointmentsPage
from clerk_app.gui.pages.base import Page, PageContext
from clerk_app.gui.pages.cases import CasesPage
from clerk_app.gui.pages.documents import DocumentsPage
from clerk_app.gui.pages.home import HomePage
from clerk_app.gui.pages.intake import IntakePage
from clerk_app.gui.pages.supervision import ComplaintsPage, RatingsPage, RectificationsPage
from clerk_app.gui.pages.supervision_monitor import MonitorPage, ReportsPage
from clerk_app.gui.pages.sync import SyncPage
from clerk_app.gui.pages.system import SystemPage
from clerk_app.gui.queue.panel import QueuePanel

PAGES: list[type[Page]] = [
    HomePage,
    QueuePanel,
    IntakePage,
    CasesPage,
    DocumentsPage,
    RatingsPage,
    SyncPage,
    MonitorPage,
    ComplaintsPage,
    RectificationsPage,
    ReportsPage,
    AppointmentsPage,  # after the daily ones: Ctrl+1 … Ctrl+9 stay where supervisors learnt them
    SystemPage,
]

__all__ = ["PAGES", "Page", "PageContext"]
