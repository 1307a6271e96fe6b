"""Driver of the crash test: starts the workstation offscreen on DATA_DIR, signs in, types half an
intake form as a clerk would, prints ``SAVED <draft id>`` once the autosave has stored it, then
keeps typing until it is killed. Run: ``python crash_driver.py DATA_DIR``."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from clerk_app.gui import app as gui_app
from clerk_app.gui.pages.intake import IntakePage
from clerk_app.gui.workstation import Workstation
from clerk_app.services.auth import AuthService
from clerk_app.services.demo import DEMO_USERS
from clerk_app.services.runtime import open_runtime
from clerk_app.settings import resolve_paths

FOOD_LICENCE = "113501000300100158000105005000005"


def type_into(edit: QLineEdit, text: str) -> None:
    event = QInputMethodEvent("", [])
    event.setCommitString(text)
    QApplication.sendEvent(edit, event)


def main() -> None:
    app = gui_app.application()
    gui_app.configure(app, "zh_CN")
    runtime = open_runtime(resolve_paths(Path(sys.argv[1])))
    station = Workstation(runtime, app)
    station.errors.interactive = False
    user = DEMO_USERS[0]
    main_window = station.open_main(AuthService(runtime).login(3, user.username, user.password))
    page = main_window.show_page("intake")
    assert isinstance(page, IntakePage)
    type_into(page.id_edit, "11010519491231002X")
    type_into(page.name_edit, "崩溃前的申请人")
    type_into(page.phone_edit, "13800138000")
    type_into(page.matter_search, "食品经营许可")
    page.choose_hit()
    deadline = time.monotonic() + 60
    while page.draft_stored is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    print(f"SAVED {page.draft_stored}", flush=True)
    n = 0
    while True:  # mid-form: still typing when the process dies
        n += 1
        type_into(page.address_edit, f"示例路{n}号")
        for _ in range(20):
            app.processEvents()
            time.sleep(0.01)


if __name__ == "__main__":
    main()
