"""After 办结 at the docked queue panel the rating pad asks the applicant: also when 办结 sends a
transferred ticket back to the window it came from, and for the matter of the linked case rather
than the ticket's category."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from queue_helpers import clerk, key
from sqlalchemy import select
from window_helpers import bring_to_front

from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.gui.main_window import MainWindow
from clerk_app.gui.queue.panel import QueuePanel, service_ref
from clerk_app.gui.rating_pad import RATING
from clerk_app.gui.workstation import Workstation
from clerk_app.services.cases import CaseService
from clerk_app.services.queue import QueueService, seed_demo_queue
from clerk_app.services.ratings import Level, RatingInput, RatingService
from clerk_app.services.runtime import open_store
from clerk_app.store.models.cases import Applicant, Case
from clerk_app.store.models.supervision import Rating
from clerk_app.store.uow import Store

SHIFT = Qt.KeyboardModifier.ShiftModifier


def _case(store: Store, number: str, codes: list[str]) -> None:
    with store.unit_of_work() as uow:
        applicant = Applicant(kind="person", id_type="111", id_number="11010519491231002X", name="何静")
        uow.session.add(applicant)
        uow.flush()
        uow.session.add(Case(case_number=number, applicant_id=applicant.id, matter_codes=codes,
                             status="accepted", clerk_id=uuid.uuid4(), window_number=5))  # fmt: skip
        uow.commit()


def _signed_in(qtbot: QtBot, station: Workstation, window: int) -> MainWindow:
    main = station.open_main(station.auth.login(window, "wangxy", "Window#2026"))
    qtbot.addWidget(main)
    bring_to_front(qtbot, main)
    main.show_page("intake")
    return main


def test_finish_that_returns_a_transferred_ticket_asks_for_a_rating_of_the_case_matter(
    qtbot: QtBot, station: Workstation
) -> None:
    central = station.runtime.central
    queue = QueueService(central)
    issued = queue.issue("A")
    called = queue.call_next(clerk(3), key())
    assert called is not None and called.id == issued.ticket.id
    queue.start(clerk(3), called.id, key())
    queue.transfer(clerk(3), called.id, key(), window=5, reason="需另一窗口核验", return_after=True)
    matters = load_demo_catalogue().matters[:2]
    _case(station.runtime.local, "TEST-2026-0001", [m.implementation_code for m in matters])
    expected = "、".join(m.name for m in matters)

    main = _signed_in(qtbot, station, 5)
    panel = main.docks["queue"]
    assert isinstance(panel, QueuePanel)
    qtbot.waitUntil(lambda: panel.view is not None, timeout=5000)
    qtbot.keyClick(main, Qt.Key.Key_F5, SHIFT)
    qtbot.waitUntil(lambda: panel.number.text() == issued.ticket.number, timeout=5000)
    qtbot.keyClick(main, Qt.Key.Key_F7, SHIFT)
    qtbot.waitUntil(lambda: panel.view is not None and panel.view.current is not None
                    and panel.view.current.state == "serving", timeout=5000)  # fmt: skip
    queue.link_case(clerk(5), called.id, "TEST-2026-0001")  # as the intake page does on saving
    with qtbot.waitSignal(panel.service_finished, timeout=5000) as finished:
        qtbot.keyClick(main, Qt.Key.Key_F10, SHIFT)
    returned, matter, ref = finished.args
    assert returned.state == "transferred" and returned.routed_window == 3  # back to window 3
    assert matter == expected and "综合业务" not in matter
    assert ref.startswith(f"ticket:{called.id}/5@")
    qtbot.waitUntil(lambda: panel.number.text() == "空闲", timeout=5000)
    pad = main.rating_pad()
    assert pad.isVisible() and pad.stack.currentIndex() == RATING
    assert pad.service_ref == ref and pad.matter_name == expected
    with qtbot.waitSignal(pad.rated, timeout=5000) as rated:
        qtbot.mouseClick(pad.level_buttons[Level.SATISFIED], Qt.MouseButton.LeftButton)
        qtbot.mouseClick(pad.submit_button, Qt.MouseButton.LeftButton)
    assert rated.args[0].rating.service_ref == ref and rated.args[0].rating.matter_name == expected
    pad.close()

    # window 3 serves the rest: its own finish is rated under the ticket's plain reference
    back = queue.call_next(clerk(3), key())
    assert back is not None and back.id == called.id
    queue.start(clerk(3), back.id, key())
    done = queue.finish(clerk(3), back.id, key())
    assert done is not None and done.state == "done"
    assert service_ref(done, 3) == f"ticket:{called.id}" != ref
    station.tasks.wait_idle(5000)
    who = station.auth.login(3, "lijg", "Window#2026")
    RatingService(station.runtime).record(who, RatingInput(f"ticket:{called.id}", Level.VERY_SATISFIED))
    with station.runtime.local.unit_of_work() as uow:
        refs = {
            r.service_ref: r.window_number
            for r in uow.session.execute(select(Rating.service_ref, Rating.window_number))
        }
    assert refs == {ref: 5, f"ticket:{called.id}": 3}, "one rating per service, both kept"


def test_no_rating_for_a_ticket_still_here_and_no_matter_for_an_unknown_case(station: Workstation) -> None:
    """A finish answered with the ticket still at this window asks nothing; a case number this
    store does not hold gives no matter (the panel then names the category)."""
    queue = QueueService(station.runtime.central)
    queue.issue("A")
    called = queue.call_next(clerk(4), key())
    assert called is not None
    assert service_ref(called, 4) is None
    who = station.auth.login(5, "wangxy", "Window#2026")
    assert CaseService(station.runtime.local).matters_of(who, "NO-SUCH-CASE") == ()


def test_finish_answers_the_returned_ticket_on_both_stores(db_url: str) -> None:
    """What the panel rates from: on SQLite and on PostgreSQL (where finish is one statement)
    办结 of a ticket transferred with a return answers it routed back, and the final 办结 at the
    window it returns to answers it done."""
    store = open_store(db_url, kind="central")
    seed_demo_queue(store)
    queue = QueueService(store)
    queue.issue("A")
    called = queue.call_next(clerk(3), key())
    assert called is not None
    queue.start(clerk(3), called.id, key())
    queue.transfer(clerk(3), called.id, key(), window=5, reason="需另一窗口核验", return_after=True)
    there = queue.call_next(clerk(5), key())
    assert there is not None and there.id == called.id
    queue.start(clerk(5), there.id, key())
    returned = queue.finish(clerk(5), there.id, key())
    assert returned is not None and returned.state == "transferred" and returned.routed_window == 3
    assert (service_ref(returned, 5) or "").startswith(f"ticket:{called.id}/5@")
    # two services of the ticket at window 5 that began in the same second are rated apart
    first, second = (
        dataclasses.replace(returned, started_at=dt.datetime(2026, 11, 28, 1, 2, 3, micro, tzinfo=dt.UTC))
        for micro in (100, 200)
    )
    assert service_ref(first, 5) != service_ref(second, 5)
    back = queue.call_next(clerk(3), key())
    assert back is not None and back.id == called.id
    queue.start(clerk(3), back.id, key())
    done = queue.finish(clerk(3), back.id, key())
    assert done is not None and service_ref(done, 3) == f"ticket:{called.id}"
    store.dispose()
