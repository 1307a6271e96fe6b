"""Signed verification payloads for the QR code on licences, checked offline.

Payload text (ASCII, so every QR reader returns it byte for byte)::

    CLK1.<base64url(fields)>.<key id>.<base64url(Ed25519 signature)>

``fields`` is the licence's printed data as compact JSON (UTF-8, sorted keys). The signature
(Ed25519, RFC 8032) covers the exact text before the last dot, so a change to any field or to the
key id breaks it. The key id is the first 8 bytes of SHA-256 of the raw public key, in hex; the
public keys of issuers are reference data, and :func:`verify_payload` needs nothing else: it works
offline. Verdicts: genuine, altered (bad signature or unreadable text), unknown issuer (the key id
names no known key).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from clerk_app.documents.dto import Licence
from clerk_app.i18n import N_, _

PREFIX = "CLK1"

#: Field keys in the payload (short, to keep the QR code small).
F_IDENTIFIER = "id"
F_NUMBER = "no"
F_TITLE = "t"
F_HOLDER = "h"
F_HOLDER_CODE = "hc"
F_HOLDER_CODE_TYPE = "hct"
F_ISSUER = "i"
F_ISSUER_CODE = "ic"
F_ISSUED = "d"
F_VALID_FROM = "vf"
F_VALID_UNTIL = "vu"  # "" = 长期
F_KIND = "k"  # notices: the document type
F_CASE = "c"  # notices: the case number

FIELD_LABELS: Mapping[str, str] = MappingProxyType(
    {
        F_IDENTIFIER: N_("证照标识"),
        F_NUMBER: N_("证照编号"),
        F_TITLE: N_("证照名称"),
        F_HOLDER: N_("持证主体"),
        F_HOLDER_CODE: N_("持证主体代码"),
        F_HOLDER_CODE_TYPE: N_("代码类型"),
        F_ISSUER: N_("颁发机构"),
        F_ISSUER_CODE: N_("颁发机构代码"),
        F_ISSUED: N_("颁发日期"),
        F_VALID_FROM: N_("有效期起"),
        F_VALID_UNTIL: N_("有效期至"),
        F_KIND: N_("文书类型"),
        F_CASE: N_("受理编号"),
    }
)


class Status(StrEnum):
    GENUINE = "genuine"
    ALTERED = "altered"
    UNKNOWN_ISSUER = "unknown_issuer"


STATUS_TEXT: Mapping[Status, str] = MappingProxyType(
    {
        Status.GENUINE: N_("真实：签名有效，内容未被改动"),
        Status.ALTERED: N_("已被改动或无法识别：签名不符"),
        Status.UNKNOWN_ISSUER: N_("未知签发机构：本机没有该密钥的公钥"),
    }
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What :func:`verify_payload` found; ``fields`` are shown only when readable."""

    status: Status
    key_id: str = ""
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    issuer_name: str = ""

    @property
    def genuine(self) -> bool:
        return self.status is Status.GENUINE

    def message(self) -> str:
        return _(STATUS_TEXT[self.status])


@dataclass(frozen=True, slots=True)
class IssuerKey:
    """A public key of an issuing authority (reference data)."""

    issuer_code: str
    issuer_name: str
    public_key: bytes  # raw 32-byte Ed25519 public key

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)


def key_id_of(public_raw: bytes) -> str:
    """First 8 bytes of SHA-256 of the raw public key, lower-case hex."""
    return hashlib.sha256(public_raw).digest()[:8].hex()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def licence_fields(licence: Licence) -> dict[str, str]:
    """The printed licence data that the QR code vouches for."""
    return {
        F_IDENTIFIER: licence.identifier,
        F_NUMBER: licence.licence_number,
        F_TITLE: licence.title,
        F_HOLDER: licence.holder,
        F_HOLDER_CODE: licence.holder_code,
        F_HOLDER_CODE_TYPE: licence.holder_code_type,
        F_ISSUER: licence.issuer,
        F_ISSUER_CODE: licence.issuer_code,
        F_ISSUED: licence.issue_date.isoformat(),
        F_VALID_FROM: licence.valid_from.isoformat(),
        F_VALID_UNTIL: licence.valid_until.isoformat() if licence.valid_until else "",
    }


def notice_fields(
    kind: str, title: str, number: str, party: str, case_no: str, day: dt.date, authority: str
) -> dict[str, str]:
    """The printed notice data that a notice's QR code vouches for."""
    return {
        F_KIND: kind,
        F_TITLE: title,
        F_NUMBER: number,
        F_HOLDER: party,
        F_CASE: case_no,
        F_ISSUED: day.isoformat(),
        F_ISSUER: authority,
    }


class Signer:
    """Signs payloads with one Ed25519 private key (kept in the keyring by the caller)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = key_id_of(self.public_raw)

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> Signer:
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def private_bytes(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    def sign(self, fields: Mapping[str, str]) -> str:
        """The payload text for ``fields``."""
        body = json.dumps(dict(fields), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        signed = f"{PREFIX}.{_b64(body.encode('utf-8'))}.{self.key_id}"
        return f"{signed}.{_b64(self._key.sign(signed.encode('ascii')))}"


def _decode_fields(encoded: str) -> Mapping[str, str] | None:
    try:
        data = json.loads(_unb64(encoded).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return None
    return MappingProxyType({str(k): v for k, v in data.items()})


def verify_payload(text: str, issuer_keys: Mapping[str, IssuerKey]) -> Verdict:
    """Check a scanned payload against the known issuer keys (by key id), offline."""
    parts = text.strip().split(".")
    if len(parts) != 4 or parts[0] != PREFIX:
        return Verdict(Status.ALTERED)
    _prefix, encoded, key_id, signature = parts
    fields = _decode_fields(encoded)
    issuer = issuer_keys.get(key_id)
    if issuer is None:
        return Verdict(Status.UNKNOWN_ISSUER, key_id, fields or MappingProxyType({}))
    try:
        public = Ed25519PublicKey.from_public_bytes(issuer.public_key)
        public.verify(_unb64(signature), text.strip().rsplit(".", 1)[0].encode("ascii"))
    except (InvalidSignature, binascii.Error, ValueError, UnicodeEncodeError):
        return Verdict(Status.ALTERED, key_id, fields or MappingProxyType({}), issuer.issuer_name)
    if fields is None:
        return Verdict(Status.ALTERED, key_id, issuer_name=issuer.issuer_name)
    return Verdict(Status.GENUINE, key_id, fields, issuer.issuer_name)
