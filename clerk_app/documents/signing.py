"""The issuer's signing key (in the system keyring) and the issuers' public keys (reference data).

The private Ed25519 key of an issuing authority lives only in the keyring, under
``signing-key:<issuer code>`` (base64 of the 32 raw bytes), through
:mod:`clerk_app.security.credentials`, which refuses to run on a plain-text keyring. Its public key
is published in ``issuer_keys`` so that every workstation (and ``clerk-app verify``) can check QR
payloads offline. A key file (TOML) can carry public keys to a machine without a store.
"""

from __future__ import annotations

import base64
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import select

from clerk_app.documents.verification import IssuerKey, Signer
from clerk_app.i18n import _
from clerk_app.security import credentials
from clerk_app.store.models.documents import IssuerKeyRecord
from clerk_app.store.uow import UnitOfWork


def _secret_name(issuer_code: str) -> str:
    return f"signing-key:{issuer_code}"


def load_signer(issuer_code: str) -> Signer | None:
    """The issuer's signer from the keyring, or None if this machine holds no key for it."""
    stored = credentials.get_secret(_secret_name(issuer_code))
    if not stored:
        return None
    return Signer.from_private_bytes(base64.b64decode(stored))


def create_signer(issuer_code: str) -> Signer:
    """Make a new key pair and keep the private key in the keyring (replacing any earlier one)."""
    signer = Signer.generate()
    credentials.set_secret(
        _secret_name(issuer_code), base64.b64encode(signer.private_bytes()).decode("ascii")
    )
    return signer


def publish_key(uow: UnitOfWork, signer: Signer, issuer_code: str, issuer_name: str) -> IssuerKey:
    """Record the signer's public key as reference data (idempotent; the caller commits)."""
    existing = uow.session.scalar(select(IssuerKeyRecord).where(IssuerKeyRecord.key_id == signer.key_id))
    if existing is None:
        uow.session.add(
            IssuerKeyRecord(
                key_id=signer.key_id,
                issuer_code=issuer_code,
                issuer_name=issuer_name,
                public_key=signer.public_raw.hex(),
            )
        )
    return IssuerKey(issuer_code, issuer_name, signer.public_raw)


def known_keys(uow: UnitOfWork) -> dict[str, IssuerKey]:
    """Every active issuer key in the store, by key id."""
    rows = uow.session.scalars(
        select(IssuerKeyRecord).where(IssuerKeyRecord.active.is_(True), IssuerKeyRecord.deleted.is_(False))
    ).all()
    return {r.key_id: IssuerKey(r.issuer_code, r.issuer_name, bytes.fromhex(r.public_key)) for r in rows}


def keys_from_file(path: Path) -> dict[str, IssuerKey]:
    """Public keys from a TOML file: ``[[key]] issuer_code, issuer_name, public_key (hex)``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        keys = [
            IssuerKey(str(k["issuer_code"]), str(k["issuer_name"]), bytes.fromhex(str(k["public_key"])))
            for k in data.get("key", [])
        ]
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError) as exc:
        raise ValueError(_("无法读取公钥文件 {path}：{detail}").format(path=path, detail=exc)) from exc
    return {k.key_id: k for k in keys}


def keys_to_toml(keys: Mapping[str, IssuerKey]) -> str:
    """The TOML text :func:`keys_from_file` reads (to hand public keys to an offline machine)."""
    blocks = [
        "[[key]]\n"
        f"issuer_code = {json.dumps(k.issuer_code, ensure_ascii=False)}\n"
        f"issuer_name = {json.dumps(k.issuer_name, ensure_ascii=False)}\n"
        f'public_key = "{k.public_key.hex()}"\n'
        for k in keys.values()
    ]
    return "\n".join(blocks)
