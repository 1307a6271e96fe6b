"""Foundation services without Qt: runtime, demo hall, sign-in, lockout, roles, settings."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from clerk_app import logs
from clerk_app import settings as settings_mod
from clerk_app.security.audit import verify_chain
from clerk_app.security.credentials import NoSecureKeyringError, get_secret, set_secret
from clerk_app.security.roles import PermissionDenied, Role
from clerk_app.services.auth import AuthService
from clerk_app.services.demo import DEMO_USERS, WINDOW_COUNT, ensure_demo
from clerk_app.services.errors import LoginError
from clerk_app.services.runtime import Runtime, open_runtime
from clerk_app.settings import resolve_paths
from clerk_app.store import migrate
from clerk_app.store.audit import audit_fields
from clerk_app.store.migrate import StoreTooNewError
from clerk_app.store.models import AuditEntry, OutboxEntry, User, Window


@pytest.fixture
def runtime(data_dir: Path) -> Runtime:
    rt = open_runtime(resolve_paths(data_dir))
    ensure_demo(rt.central, rt.local)
    yield rt
    rt.close()


def _password(username: str) -> str:
    return next(u.password for u in DEMO_USERS if u.username == username)


def test_embedded_default_creates_both_stores_and_demo_hall(runtime: Runtime, data_dir: Path) -> None:
    assert (data_dir / "workstation.sqlite").exists() and (data_dir / "central.sqlite").exists()
    assert runtime.central_is_embedded
    with runtime.local.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Window)) == WINDOW_COUNT
        roles = {r for (r,) in uow.session.execute(select(User.role))}
        assert roles == {"clerk", "supervisor", "admin"}
        # reference data copied from central is not a local change: nothing to push
        assert uow.session.scalar(select(func.count()).select_from(OutboxEntry)) == 0


def test_seeding_is_idempotent(runtime: Runtime) -> None:
    ensure_demo(runtime.central, runtime.local)
    ensure_demo(runtime.central, runtime.local)
    for store in (runtime.central, runtime.local):
        with store.unit_of_work() as uow:
            assert uow.session.scalar(select(func.count()).select_from(User)) == len(DEMO_USERS)
            assert uow.session.scalar(select(func.count()).select_from(Window)) == WINDOW_COUNT


def test_demo_user_signs_in_and_is_audited(runtime: Runtime) -> None:
    who = AuthService(runtime).login(3, "wangxy", _password("wangxy"))
    assert who.role is Role.CLERK and who.window_number == 3 and "演示" in who.hall_name
    with runtime.local.unit_of_work() as uow:
        actions = uow.session.scalars(select(AuditEntry.action)).all()
    assert actions == ["login.success"]


def test_five_wrong_passwords_lock_for_five_minutes(runtime: Runtime) -> None:
    now = [dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)]
    auth = AuthService(runtime, clock=lambda: now[0])
    messages = []
    for _attempt in range(5):
        with pytest.raises(LoginError) as caught:
            auth.login(3, "lijg", "wrong")
        messages.append(str(caught.value))
    assert "再错 4 次" in messages[0] and "已锁定" in messages[4]
    with pytest.raises(LoginError, match="已锁定"):  # even the right password is refused now
        auth.login(3, "lijg", _password("lijg"))
    now[0] += dt.timedelta(minutes=5, seconds=1)
    assert auth.login(3, "lijg", _password("lijg")).username == "lijg"
    with runtime.local.unit_of_work() as uow:
        actions = uow.session.scalars(select(AuditEntry.action).order_by(AuditEntry.hlc)).all()
    assert actions.count("login.failure") == 5
    assert "login.lockout" in actions and "login.refused_locked" in actions and actions[-1] == "login.success"


def test_audit_chain_verifies_and_detects_tampering(runtime: Runtime) -> None:
    auth = AuthService(runtime)
    auth.login(1, "zhangli", _password("zhangli"))
    with pytest.raises(LoginError):
        auth.login(1, "zhangli", "x")
    with runtime.local.unit_of_work() as uow:
        rows = uow.session.scalars(select(AuditEntry).order_by(AuditEntry.hlc)).all()
        chain = [(r.prev_hash, audit_fields(r), r.hash) for r in rows]
    assert verify_chain(chain) is None
    chain[0][1]["action"] = "login.failure"
    assert verify_chain(chain) == 0


def test_unknown_user_and_empty_fields_get_plain_messages(runtime: Runtime) -> None:
    auth = AuthService(runtime)
    with pytest.raises(LoginError, match="用户名或密码不正确"):
        auth.login(2, "nobody", "x")
    with pytest.raises(LoginError, match="请输入用户名和密码"):
        auth.login(2, "", "")
    with pytest.raises(LoginError, match="请选择所在窗口"):
        auth.login(None, "wangxy", _password("wangxy"))
    with pytest.raises(LoginError, match="99 号窗口不存在"):
        auth.login(99, "wangxy", _password("wangxy"))


def test_clerk_calling_supervisor_service_is_refused(runtime: Runtime) -> None:
    auth = AuthService(runtime)
    clerk = auth.login(3, "wangxy", _password("wangxy"))
    with pytest.raises(PermissionDenied, match="无权"):
        auth.unlock_user(clerk, "lijg")
    with pytest.raises(PermissionDenied):
        auth.locked_users(clerk)
    supervisor = auth.login(None, "chenjing", _password("chenjing"))
    for _attempt in range(5):
        with pytest.raises(LoginError):
            auth.login(3, "lijg", "wrong")
    assert [u for u, _ in auth.locked_users(supervisor)] == ["lijg"]
    auth.unlock_user(supervisor, "lijg")
    assert auth.login(3, "lijg", _password("lijg")).username == "lijg"


def test_offline_login_uses_local_copy(data_dir: Path) -> None:
    rt = open_runtime(resolve_paths(data_dir))
    ensure_demo(rt.central, rt.local)
    rt.close()
    offline = open_runtime(resolve_paths(data_dir), "postgresql://nobody@127.0.0.1:1/none")
    assert AuthService(offline).login(5, "zhaomin", _password("zhaomin")).username == "zhaomin"
    offline.close()


def test_store_newer_than_program_is_refused_with_clear_message(data_dir: Path) -> None:
    rt = open_runtime(resolve_paths(data_dir))
    with rt.local.engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('9999_future')"))
    rt.close()
    with pytest.raises(StoreTooNewError, match="请升级本程序"):
        open_runtime(resolve_paths(data_dir))


def test_migrations_reach_every_head(runtime: Runtime) -> None:
    assert migrate.is_current(runtime.local.engine) and migrate.is_current(runtime.central.engine)


def test_settings_upgrade_from_version_1(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 1, "language": "en", "idle_lock_seconds": 300, "stale": 1}))
    loaded = settings_mod.load(path)
    assert loaded.version == settings_mod.SETTINGS_VERSION and loaded.idle_lock_minutes == 5
    assert loaded.language == "en"
    assert json.loads(path.read_text())["version"] == settings_mod.SETTINGS_VERSION


def test_settings_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    settings_mod.save(path, settings_mod.Settings(last_window=7, last_username="王"))
    assert settings_mod.load(path).last_window == 7


def test_data_dir_from_environment(data_dir: Path) -> None:
    assert resolve_paths().data == data_dir.resolve()


def test_secrets_go_to_keyring_only(memory_keyring: object) -> None:
    set_secret("central-password", "s3cret")
    assert get_secret("central-password") == "s3cret"


def test_no_secure_keyring_is_refused_plainly() -> None:
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    with pytest.raises(NoSecureKeyringError, match="不会以明文保存"):
        set_secret("central-password", "s3cret")


def test_redaction_removes_personal_data() -> None:
    text_in = (
        "id 11010519491231002X phone +86 138-0013-8000 code 91350100M000100Y43 "
        "url postgresql://u:pw@host/db password=hunter2"
    )
    out = logs.redact(text_in)
    for secret in ("11010519491231002X", "138-0013-8000", "91350100M000100Y43", "pw@", "hunter2"):
        assert secret not in out


def test_fast_revision_graph_matches_alembic() -> None:
    from contextlib import ExitStack

    from alembic.config import Config  # noqa: F401 - the slow path must agree with the fast one
    from alembic.script import ScriptDirectory

    with ExitStack() as stack:
        script = ScriptDirectory.from_config(migrate._config(stack))
        assert {r.revision for r in script.walk_revisions()} == migrate.known_revisions()
        assert set(script.get_heads()) == migrate._revision_graph()[1]
