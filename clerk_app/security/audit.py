"""The audit chain: each entry's hash covers its content and the previous entry's hash, so an
entry removed or altered afterwards breaks the chain (a tamper-evident log, not a secret)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(fields)).hexdigest()


def verify_chain(entries: list[tuple[str, dict[str, Any], str]]) -> int | None:
    """Given ``(prev_hash, fields, hash)`` in order, the index of the first broken link or None."""
    previous = ""
    for index, (prev_hash, fields, digest) in enumerate(entries):
        if prev_hash != previous or chain_hash(prev_hash, fields) != digest:
            return index
        previous = digest
    return None
