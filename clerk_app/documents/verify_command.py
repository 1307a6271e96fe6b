"""``clerk-app verify``: check a scanned QR payload offline and say genuine / altered / unknown issuer.

The payload text comes from the command line or standard input (a USB QR scanner types it like a
keyboard). Issuer keys come from the local store (reference data pulled from the central store)
and, optionally, from a key file. Exit status: 0 genuine, 1 altered, 2 unknown issuer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from clerk_app.documents.verification import FIELD_LABELS, IssuerKey, Status, Verdict, verify_payload
from clerk_app.i18n import _

EXIT_CODES: Mapping[Status, int] = {Status.GENUINE: 0, Status.ALTERED: 1, Status.UNKNOWN_ISSUER: 2}


@dataclass(frozen=True, slots=True)
class VerifyResult:
    verdict: Verdict
    exit_code: int
    lines: tuple[str, ...]


def describe(verdict: Verdict) -> tuple[str, ...]:
    """Lines for a person: the verdict, the issuer, then every field the payload carries."""
    lines = [verdict.message()]
    if verdict.issuer_name:
        lines.append(_("签发机构：{name}（密钥 {key}）").format(name=verdict.issuer_name, key=verdict.key_id))
    elif verdict.key_id:
        lines.append(_("密钥编号：{key}").format(key=verdict.key_id))
    if verdict.fields and not verdict.genuine:
        lines.append(_("以下内容未经验证，不可作为依据："))
    for key, value in verdict.fields.items():
        label = _(FIELD_LABELS[key]) if key in FIELD_LABELS else key
        lines.append(f"{label}：{value}")
    return tuple(lines)


def verify_text(text: str, keys: Mapping[str, IssuerKey]) -> VerifyResult:
    verdict = verify_payload(text, keys)
    return VerifyResult(verdict, EXIT_CODES[verdict.status], describe(verdict))
