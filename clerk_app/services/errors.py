"""Errors a user can act on. The GUI shows these in one dialog in plain words; anything else
is a bug and goes to the crash dialog."""

from __future__ import annotations

from clerk_app.security.credentials import NoSecureKeyringError
from clerk_app.security.roles import PermissionDenied
from clerk_app.store.migrate import StoreTooNewError


class UserError(Exception):
    """An expected failure with a message already in the user's language."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class LoginError(UserError):
    pass


EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    UserError,
    PermissionDenied,
    StoreTooNewError,
    NoSecureKeyringError,
)


def is_expected(exc: BaseException) -> bool:
    return isinstance(exc, EXPECTED_ERRORS)
