"""Client-made primary keys: UUIDv7 (time-ordered, so indexes stay compact; RFC 9562)."""

from __future__ import annotations

import uuid

import uuid6


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=uuid6.uuid7().bytes)
