"""The rating pad (好差评评价器): a second top-level window of the workstation, meant for a second
screen facing the applicant.

It shows who served the applicant (name, photo placeholder, window). After a service the clerk's
side calls :meth:`RatingPad.request_rating`; the applicant touches one of five large buttons,
may add sub-scores and a comment, and submits. Without an answer the pad thanks the applicant
politely and returns to its idle face after the hall's timeout (nothing is recorded: one rating
per service, and the service may still be rated through another channel). "找负责人" opens a
办不成事 case at once and tells the applicant the supervisor is coming.

Every service call goes through the task runner; the pad never touches the database itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from clerk_app.i18n import _
from clerk_app.services.complaints import ComplaintService, ComplaintView
from clerk_app.services.ratings import (
    LEVEL_COLOURS,
    LEVELS,
    SUB_SCORES,
    Channel,
    Level,
    RatingInput,
    RatingResult,
    RatingService,
    SupervisionSettings,
)

if TYPE_CHECKING:  # the pages package imports this module: no import cycle at run time
    from clerk_app.gui.pages.base import PageContext

THANKS_MS = 5000
IDLE, RATING, MESSAGE = 0, 1, 2


def target_screen() -> QScreen | None:
    """The screen facing the applicant: the second one when there is one, else the primary."""
    screens = QGuiApplication.screens()
    if len(screens) > 1:
        return screens[1]
    return QGuiApplication.primaryScreen()


class RatingPad(QWidget):
    rated = Signal(object)  # RatingResult
    timed_out = Signal(str)  # the service reference left unrated
    supervisor_called = Signal(object)  # ComplaintView

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.ctx = ctx
        self.setObjectName("ratingPad")
        self.setWindowTitle(_("服务评价"))
        self.ratings = RatingService(ctx.runtime)
        self.complaints = ComplaintService(ctx.runtime)
        self.settings = SupervisionSettings()
        self.service_ref = ""
        self.matter_name = ""
        self.level: Level | None = None
        self.timeout = QTimer(self)
        self.timeout.setSingleShot(True)
        self.timeout.timeout.connect(self._timed_out)
        self.back_to_idle = QTimer(self)
        self.back_to_idle.setSingleShot(True)
        self.back_to_idle.timeout.connect(self.show_idle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.addWidget(self._header())
        self.stack = QStackedWidget()
        self.stack.addWidget(self._idle_face())
        self.stack.addWidget(self._rating_face())
        self.stack.addWidget(self._message_face())
        layout.addWidget(self.stack, 1)
        self.supervisor_button = QPushButton(_("找负责人"))
        self.supervisor_button.setObjectName("askSupervisorButton")
        self.supervisor_button.setMinimumHeight(64)
        self.supervisor_button.setStyleSheet("font-size: 22px; padding: 8px 24px;")
        self.supervisor_button.clicked.connect(self.ask_for_supervisor)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.supervisor_button)
        layout.addLayout(bottom)
        ctx.tasks.db(self.ratings.settings, self._got_settings)

    # ---- building --------------------------------------------------------------------------

    def _header(self) -> QWidget:
        box = QFrame()
        row = QHBoxLayout(box)
        photo = QLabel(_("照片"))
        photo.setObjectName("clerkPhoto")
        photo.setFixedSize(96, 120)
        photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        photo.setStyleSheet("border: 2px solid #9aa5b1; background: #eef2f6; color: #52606d;")
        row.addWidget(photo)
        who = self.ctx.session
        self.clerk_label = QLabel(who.display_name)
        self.clerk_label.setObjectName("padClerkName")
        self.clerk_label.setStyleSheet("font-size: 30px; font-weight: bold; color: #0f3d6e;")
        where = _("{n} 号窗口").format(n=who.window_number) if who.window_number else _("后台")
        self.window_label = QLabel(where)
        self.window_label.setObjectName("padWindow")
        self.window_label.setStyleSheet("font-size: 22px;")
        text = QVBoxLayout()
        text.addWidget(self.clerk_label)
        text.addWidget(self.window_label)
        hall = QLabel(who.hall_name)
        hall.setStyleSheet("color: #52606d;")
        text.addWidget(hall)
        row.addLayout(text, 1)
        return box

    def _idle_face(self) -> QWidget:
        face = QWidget()
        layout = QVBoxLayout(face)
        welcome = QLabel(_("您好，欢迎办理业务。"))
        welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        welcome.setStyleSheet("font-size: 34px; color: #0f3d6e;")
        layout.addStretch(1)
        layout.addWidget(welcome)
        layout.addStretch(1)
        return face

    def _rating_face(self) -> QWidget:
        face = QWidget()
        layout = QVBoxLayout(face)
        self.prompt = QLabel(_("请您对本次服务进行评价"))
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prompt.setStyleSheet("font-size: 30px; color: #0f3d6e;")
        layout.addWidget(self.prompt)
        levels = QHBoxLayout()
        self.level_group = QButtonGroup(self)
        self.level_buttons: dict[Level, QPushButton] = {}
        for level in LEVELS:
            button = QPushButton(level.label)
            button.setObjectName(f"level_{level.name.lower()}")
            button.setCheckable(True)
            button.setMinimumSize(150, 120)
            button.setStyleSheet(
                f"QPushButton {{ font-size: 26px; font-weight: bold; color: white;"
                f" background: {LEVEL_COLOURS[level]}; border-radius: 12px; }}"
                f" QPushButton:checked {{ border: 6px solid #0f3d6e; }}"
            )
            button.clicked.connect(lambda _checked=False, chosen=level: self.choose(chosen))
            self.level_group.addButton(button)
            self.level_buttons[level] = button
            levels.addWidget(button)
        layout.addLayout(levels)
        self.sub_groups: dict[str, QButtonGroup] = {}
        grid = QGridLayout()
        for row, (name, label) in enumerate(SUB_SCORES):
            caption = QLabel(_(label) + _("（可选）"))
            caption.setStyleSheet("font-size: 18px;")
            grid.addWidget(caption, row, 0)
            group = QButtonGroup(self)
            group.setExclusive(True)
            for score in range(1, 6):
                button = QPushButton(str(score))
                button.setObjectName(f"sub_{name}_{score}")
                button.setCheckable(True)
                button.setMinimumSize(64, 48)
                button.setStyleSheet("font-size: 20px;")
                button.clicked.connect(self._touched)
                group.addButton(button, score)
                grid.addWidget(button, row, score)
            self.sub_groups[name] = group
        layout.addLayout(grid)
        self.comment = QLineEdit()
        self.comment.setObjectName("padComment")
        self.comment.setPlaceholderText(_("意见或建议（可选）"))
        self.comment.setMinimumHeight(48)
        self.comment.setStyleSheet("font-size: 20px;")
        self.comment.textChanged.connect(self._touched)
        layout.addWidget(self.comment)
        self.submit_button = QPushButton(_("提交评价"))
        self.submit_button.setObjectName("submitRatingButton")
        self.submit_button.setMinimumHeight(72)
        self.submit_button.setStyleSheet("font-size: 26px; font-weight: bold;")
        self.submit_button.setEnabled(False)
        self.submit_button.clicked.connect(self.submit)
        layout.addWidget(self.submit_button)
        return face

    def _message_face(self) -> QWidget:
        face = QWidget()
        layout = QVBoxLayout(face)
        self.message = QLabel()
        self.message.setObjectName("padMessage")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setStyleSheet("font-size: 30px; color: #0f3d6e;")
        layout.addStretch(1)
        layout.addWidget(self.message)
        layout.addStretch(1)
        return face

    # ---- placing -----------------------------------------------------------------------------

    def show_on_applicant_screen(self) -> None:
        """Show full screen on the second screen when there is one, else as a window."""
        screens = QGuiApplication.screens()
        screen = target_screen()
        if screen is not None:
            self.setScreen(screen)
            self.setGeometry(screen.availableGeometry())
        if len(screens) > 1:
            self.showFullScreen()
        else:
            self.resize(1024, 700)
            self.show()

    # ---- flow --------------------------------------------------------------------------------

    def _got_settings(self, settings: SupervisionSettings) -> None:
        self.settings = settings

    def request_rating(self, service_ref: str, matter_name: str = "") -> None:
        """After a service: ask the applicant for the five-level rating."""
        self.back_to_idle.stop()
        self.service_ref, self.matter_name = service_ref, matter_name
        self.level = None
        self.level_group.setExclusive(False)
        for button in self.level_buttons.values():
            button.setChecked(False)
        self.level_group.setExclusive(True)
        for group in self.sub_groups.values():
            group.setExclusive(False)
            for sub_button in group.buttons():
                sub_button.setChecked(False)
            group.setExclusive(True)
        self.comment.clear()
        self.submit_button.setEnabled(False)
        self.prompt.setText(_("请您对本次服务进行评价"))
        self.stack.setCurrentIndex(RATING)
        self.timeout.start(self.settings.pad_timeout_seconds * 1000)

    def choose(self, level: Level) -> None:
        self.level = level
        self.level_buttons[level].setChecked(True)
        self.submit_button.setEnabled(True)
        if level.bad:
            self.prompt.setText(_("很抱歉让您不满意，请告诉我们哪里做得不好。"))
        else:
            self.prompt.setText(_("感谢您的评价，请点击“提交评价”。"))
        self._touched()

    def _touched(self) -> None:
        if self.stack.currentIndex() == RATING:
            self.timeout.start(self.settings.pad_timeout_seconds * 1000)

    def rating_input(self) -> RatingInput:
        assert self.level is not None

        def score(name: str) -> int | None:
            chosen = self.sub_groups[name].checkedId()
            return chosen if chosen > 0 else None

        return RatingInput(
            self.service_ref,
            self.level,
            Channel.PAD,
            overall=score("overall"),
            efficiency=score("efficiency"),
            competence=score("competence"),
            attitude=score("attitude"),
            comment=self.comment.text(),
            matter_name=self.matter_name,
        )

    def submit(self) -> None:
        if self.level is None or self.stack.currentIndex() != RATING:
            return
        self.timeout.stop()
        self.submit_button.setEnabled(False)
        entry = self.rating_input()
        session = self.ctx.session
        self.ctx.tasks.db(lambda: self.ratings.record(session, entry), self._recorded, self._failed)

    def _recorded(self, result: RatingResult) -> None:
        self._say(_("感谢您的评价！"))
        self.rated.emit(result)

    def _failed(self, exc: BaseException) -> None:
        self._say(_("评价未能保存，请告知窗口工作人员。"))
        self.ctx.errors(exc)

    def _timed_out(self) -> None:
        ref = self.service_ref
        self._say(_("感谢您的耐心。本次未评价，您也可以稍后扫码评价。"))
        self.timed_out.emit(ref)

    def ask_for_supervisor(self) -> None:
        self.timeout.stop()
        self.supervisor_button.setEnabled(False)
        session, ref, matter = self.ctx.session, self.service_ref, self.matter_name
        self.ctx.tasks.db(
            lambda: self.complaints.ask_for_supervisor(session, ref, matter),
            self._supervisor_called,
            self._supervisor_failed,
        )

    def _supervisor_called(self, case: ComplaintView) -> None:
        self.supervisor_button.setEnabled(True)
        self._say(_("已通知值班负责人，请稍候，负责人将尽快到窗口为您服务。"))
        self.supervisor_called.emit(case)

    def _supervisor_failed(self, exc: BaseException) -> None:
        self.supervisor_button.setEnabled(True)
        self.ctx.errors(exc)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.stack.setCurrentIndex(MESSAGE)
        self.back_to_idle.start(THANKS_MS)

    def show_idle(self) -> None:
        self.timeout.stop()
        self.service_ref = ""
        self.stack.setCurrentIndex(IDLE)
