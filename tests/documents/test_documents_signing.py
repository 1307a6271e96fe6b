"""Signing key in the keyring, issuer keys as reference data, and ``clerk-app verify``."""

from __future__ import annotations

from pathlib import Path

import pytest

from clerk_app import cli
from clerk_app.documents import samples
from clerk_app.documents.dto import Licence
from clerk_app.documents.signing import (
    create_signer,
    keys_from_file,
    keys_to_toml,
    known_keys,
    load_signer,
    publish_key,
)
from clerk_app.documents.verification import IssuerKey, licence_fields
from clerk_app.services.runtime import open_store
from clerk_app.settings import resolve_paths
from clerk_app.store.engine import sqlite_url

ISSUER = "11150100MB0000000X"
LICENCE = next(d for d in samples.realistic() if isinstance(d, Licence))


def test_signing_key_lives_in_the_keyring(memory_keyring: object) -> None:
    assert load_signer(ISSUER) is None
    signer = create_signer(ISSUER)
    again = load_signer(ISSUER)
    assert again is not None and again.key_id == signer.key_id
    assert any(ISSUER in name for _, name in memory_keyring.store)  # type: ignore[attr-defined]


def test_verify_command_with_a_key_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    signer = create_signer(ISSUER)
    key_file = tmp_path / "keys.toml"
    key_file.write_text(
        keys_to_toml({signer.key_id: IssuerKey(ISSUER, "示例市行政审批和政务服务局", signer.public_raw)})
    )
    assert set(keys_from_file(key_file)) == {signer.key_id}
    payload = signer.sign(licence_fields(LICENCE))
    assert cli.main(["verify", payload, "--no-store", "--keys", str(key_file)]) == 0
    out = capsys.readouterr().out
    assert "真实" in out and LICENCE.holder in out and LICENCE.identifier in out
    tampered = payload[:30] + ("A" if payload[30] != "A" else "B") + payload[31:]
    assert cli.main(["verify", tampered, "--no-store", "--keys", str(key_file)]) == 1
    assert cli.main(["verify", payload, "--no-store"]) == 2
    assert "未知签发机构" in capsys.readouterr().out


def test_verify_command_uses_the_store_keys_and_english(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signer = create_signer(ISSUER)
    store = open_store(sqlite_url(resolve_paths(data_dir).ensure().local_store))
    try:
        with store.unit_of_work() as uow:
            publish_key(uow, signer, ISSUER, "示例市行政审批和政务服务局")
            publish_key(uow, signer, ISSUER, "示例市行政审批和政务服务局")  # idempotent
            uow.commit()
        with store.unit_of_work() as uow:
            assert list(known_keys(uow)) == [signer.key_id]
    finally:
        store.dispose()
    payload = signer.sign(licence_fields(LICENCE))
    assert cli.main(["verify", payload, "--lang", "en"]) == 0
    assert "Genuine" in capsys.readouterr().out
