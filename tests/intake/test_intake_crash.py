"""Crash recovery of a draft: the workstation process is killed (SIGKILL) in the middle of a form;
after a restart the draft is in the draft box and the form comes back as it was typed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from clerk_app.gui import app as gui_app
from clerk_app.gui.pages.intake import IntakePage
from clerk_app.gui.workstation import Workstation
from clerk_app.services.auth import AuthService
from clerk_app.services.demo import DEMO_USERS, ensure_demo
from clerk_app.services.runtime import open_runtime
from clerk_app.settings import resolve_paths

DRIVER = Path(__file__).with_name("crash_driver.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_draft_survives_kill_9_mid_form(qtbot: QtBot, qapp: QApplication, data_dir: Path) -> None:
    runtime = open_runtime(resolve_paths(data_dir))
    ensure_demo(runtime.central, runtime.local)
    runtime.close()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    errors = data_dir.parent / "driver-stderr.txt"
    with errors.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(DRIVER), str(data_dir)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
            cwd=ROOT,
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("SAVED ") and "None" not in line, (line, errors.read_text())
        draft_id = line.split()[1]
        time.sleep(0.3)  # mid-form: the driver keeps typing
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    gui_app.configure(qapp, "zh_CN")
    station = Workstation(open_runtime(resolve_paths(data_dir)), qapp)
    station.errors.interactive = False
    try:
        user = DEMO_USERS[0]
        main = station.open_main(AuthService(station.runtime).login(3, user.username, user.password))
        qtbot.addWidget(main)
        page = main.show_page("intake")
        assert isinstance(page, IntakePage)
        page.refresh_drafts()
        qtbot.waitUntil(lambda: page.drafts_combo.findData(draft_id) >= 0, timeout=15_000)
        page.drafts_combo.setCurrentIndex(page.drafts_combo.findData(draft_id))
        page.resume_selected()
        assert page.name_edit.text() == "崩溃前的申请人"
        assert page.id_edit.text() == "11010519491231002X"
        assert page.chosen_matters() == ("113501000300100158000105005000005",)
        assert page.materials_table.rowCount() == 6
        qtbot.wait(1000)
        for timer in main.findChildren(type(page._autosave)):
            timer.stop()
        qtbot.waitUntil(lambda: not station.tasks.busy, timeout=15_000)
    finally:
        station.shutdown()
