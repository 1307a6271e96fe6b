"""Secrets (central database password, document signing key) live only in the system keyring.

Where the platform offers no secure keyring (no Secret Service on a bare Linux box, or only a
plain-text backend), we refuse plainly rather than write the secret to a file.
"""

from __future__ import annotations

import keyring
import keyring.backend
from keyring.errors import KeyringError

from clerk_app.i18n import _

SERVICE = "clerk-app"
_INSECURE_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt.file")


class NoSecureKeyringError(RuntimeError):
    def __init__(self, backend: str) -> None:
        self.backend = backend
        super().__init__(
            _(
                "本机没有可用的安全密钥存储（当前：{backend}）。密码和签名密钥不会以明文保存；"
                "请安装并启用系统密钥服务（如 GNOME Keyring/KWallet、Windows 凭据管理器）。"
            ).format(backend=backend)
        )


def _backend() -> keyring.backend.KeyringBackend:
    backend = keyring.get_keyring()
    module = type(backend).__module__
    priority = getattr(backend, "priority", 0)
    if module.startswith(_INSECURE_MODULES) or (isinstance(priority, int | float) and priority <= 0):
        raise NoSecureKeyringError(f"{module}.{type(backend).__name__}")
    return backend


def secure_keyring_available() -> bool:
    try:
        _backend()
    except NoSecureKeyringError:
        return False
    return True


def set_secret(name: str, value: str) -> None:
    try:
        _backend().set_password(SERVICE, name, value)
    except KeyringError as exc:
        raise NoSecureKeyringError(str(exc)) from exc


def get_secret(name: str) -> str | None:
    try:
        return _backend().get_password(SERVICE, name)
    except KeyringError as exc:
        raise NoSecureKeyringError(str(exc)) from exc


def delete_secret(name: str) -> None:
    backend = _backend()
    if backend.get_password(SERVICE, name) is not None:
        backend.delete_password(SERVICE, name)
