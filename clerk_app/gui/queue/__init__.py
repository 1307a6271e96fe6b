"""Queue faces: the kiosk, the hall display (with its voice) and the clerk's queue panel."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6

F = TypeVar("F", bound=Callable[..., Any])


def while_alive(method: F) -> F:
    """For callbacks of background work: a result that arrives after the widget was closed and
    deleted is dropped instead of touching dead Qt objects."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not shiboken6.isValid(self):
            return None
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
