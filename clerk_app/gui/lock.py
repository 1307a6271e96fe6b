"""Idle lock: after the configured idle time the workstation covers itself with a lock dialog.
The pages underneath are left exactly as they were, so nothing typed is lost; the same user's
password resumes the session (failures count toward the lockout like any sign-in)."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from clerk_app.gui.tasks import TaskRunner
from clerk_app.i18n import _
from clerk_app.services.auth import AuthService, UserSession
from clerk_app.services.errors import is_expected

_ACTIVITY = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}


class IdleWatcher(QObject):
    """Application-wide event filter that notices input and says when the idle time is up."""

    idle = Signal()

    def __init__(self, minutes: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.limit_s = minutes * 60
        self.last_input = time.monotonic()
        self.paused = False
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY:
            self.last_input = time.monotonic()
        return False

    def check(self) -> None:
        if not self.paused and self.limit_s > 0 and time.monotonic() - self.last_input >= self.limit_s:
            self.paused = True
            self.idle.emit()

    def resume(self) -> None:
        self.last_input = time.monotonic()
        self.paused = False


class LockDialog(QDialog):
    def __init__(self, who: UserSession, auth: AuthService, tasks: TaskRunner, parent: QWidget) -> None:
        super().__init__(parent)
        self._who, self._auth, self._tasks = who, auth, tasks
        self.setWindowTitle(_("工作台已锁定"))
        self.setModal(True)
        layout = QVBoxLayout(self)
        title = QLabel(_("工作台已锁定"))
        title.setObjectName("lockTitle")
        layout.addWidget(title)
        layout.addWidget(
            QLabel(
                _("{name}（{user}），请输入密码继续工作。已录入的内容都保留着。").format(
                    name=who.display_name, user=who.username
                )
            )
        )
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setObjectName("lockPassword")
        layout.addWidget(self.password_edit)
        self.message = QLabel("")
        self.message.setObjectName("messageLabel")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.unlock_button = QPushButton(_("解锁"))
        self.unlock_button.setDefault(True)
        layout.addWidget(self.unlock_button)
        self.unlock_button.clicked.connect(self.submit)
        self.password_edit.returnPressed.connect(self.submit)
        self.setMinimumWidth(420)

    def reject(self) -> None:  # Esc must not unlock
        return

    def submit(self) -> None:
        password = self.password_edit.text()
        self.unlock_button.setEnabled(False)
        self._tasks.db(lambda: self._auth.verify_resume(self._who, password), self._ok, self._failed)

    def _ok(self, _result: object) -> None:
        self.unlock_button.setEnabled(True)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.unlock_button.setEnabled(True)
        if not is_expected(exc):
            raise exc
        self.message.setText(str(exc))
        self.password_edit.clear()
