"""Document DTOs to and from JSON-ready dicts, so the archive can render a reprint again.

Only the types used by :mod:`clerk_app.documents.dto` are handled: str, int, bool, dates and
times (ISO 8601), ``StrEnum`` (by value), nested frozen dataclasses, ``tuple[X, ...]`` and
``X | None``. The dict carries the DTO class name under ``"type"``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from functools import cache
from typing import Any

from clerk_app.documents import dto

_CLASSES: dict[str, type] = {cls.__name__: cls for cls in typing.get_args(dto.Document)}


def to_payload(document: dto.Document) -> dict[str, Any]:
    """``{"type": "AcceptanceNotice", "data": {...}}``."""
    return {"type": type(document).__name__, "data": _encode(document)}


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def from_payload(payload: dict[str, Any]) -> dto.Document:
    """The DTO that :func:`to_payload` turned into ``payload``."""
    cls = _CLASSES.get(str(payload.get("type")))
    if cls is None:
        raise ValueError(f"unknown document type {payload.get('type')!r}")
    document: dto.Document = _decode(cls, payload["data"])
    return document


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(dto))


def _decode(kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(kind) if a is not type(None)]
        return _decode(inner, value)
    if origin is tuple:
        inner = typing.get_args(kind)[0]
        return tuple(_decode(inner, v) for v in value)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        fields = {
            f.name: _decode(hints[f.name], value[f.name]) for f in dataclasses.fields(kind) if f.name in value
        }
        return kind(**fields)
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if kind is dt.date:
        return dt.date.fromisoformat(value)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(value)
    return value
