"""Command line: ``clerk-app`` starts the workstation; sub-commands start the other faces and
the tools (``screenshots`` …). Heavy imports (Qt, SQLAlchemy) happen inside the commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from clerk_app import __version__
from clerk_app.settings import CENTRAL_URL_ENV

Command = Callable[[argparse.Namespace], int]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="folder for the local store, settings and logs "
        "(default: the platform's user folders; env CLERK_APP_DATA_DIR)",
    )
    parser.add_argument(
        "--central",
        help="central store URL, e.g. postgresql://user@host/db "
        f"(default: a SQLite file beside the local store; env {CENTRAL_URL_ENV})",
    )
    parser.add_argument("--lang", help="interface language: zh_CN (default) or en")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="seed the demo hall even when the central store is not the embedded one",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clerk-app", description="政务服务窗口工作台 / service-hall clerk workstation"
    )
    parser.add_argument("--version", action="version", version=f"clerk-app {__version__}")
    _common(parser)
    parser.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(command=cmd_workstation)
    sub = parser.add_subparsers(title="faces and tools", metavar="COMMAND")
    shots = sub.add_parser("screenshots", help="render every screen offscreen with demo data to PNG files")
    _common(shots)
    shots.add_argument("--out", default="docs/screenshots", help="output folder (default: docs/screenshots)")
    shots.set_defaults(command=cmd_screenshots)
    verify = sub.add_parser(
        "verify", help="check a scanned document QR payload offline: genuine / altered / unknown issuer"
    )
    verify.add_argument("payload", nargs="?", help="payload text (default: read from standard input)")
    verify.add_argument("--keys", help="TOML file of issuer public keys, besides those in the local store")
    verify.add_argument(
        "--no-store", action="store_true", help="use only --keys, do not open the local store"
    )
    verify.add_argument("--data-dir", help="folder of the local store (env CLERK_APP_DATA_DIR)")
    verify.add_argument("--lang", help="message language: zh_CN (default) or en")
    verify.set_defaults(command=cmd_verify)
    for face, text in (("kiosk", "the self-service ticket kiosk (full screen)"),
                       ("display", "the hall display board with voice calls (full screen)")):  # fmt: skip
        face_parser = sub.add_parser(face, help=text)
        _common(face_parser)
        face_parser.add_argument("--windowed", action="store_true", help="a window instead of full screen")
        face_parser.set_defaults(command=cmd_queue_face, face=face)
    central = sub.add_parser(
        "central",
        help="central store: init (create/migrate, row security), status, or register this workstation",
    )
    central.add_argument("action", choices=["init", "status", "register"])
    central.add_argument(
        "--url", required=True, help="central store URL, e.g. postgresql://postgres@host/hall"
    )
    central.add_argument("--window", type=int, help="register: the window number of this workstation")
    central.add_argument("--hall", help="register: the hall code (when the central store has several)")
    central.add_argument("--name", default="", help="register: a name for this workstation")
    central.add_argument("--data-dir", help="register: folder of the local store (env CLERK_APP_DATA_DIR)")
    central.add_argument(
        "--admin-user", help="register: the central administrator's user (instead of the one in --url)"
    )
    central.add_argument(
        "--ask-password",
        action="store_true",
        help="register: prompt for the administrator's password (else env CLERK_CENTRAL_ADMIN_PASSWORD; "
        "never saved)",
    )
    central.set_defaults(command=cmd_central)
    return parser


def _open(args: argparse.Namespace) -> object:
    """Open (create, migrate) both stores and seed the demo hall where it applies."""
    from clerk_app.services.demo import ensure_demo
    from clerk_app.services.runtime import open_runtime
    from clerk_app.services.supervision_demo import seed_supervision_history
    from clerk_app.settings import resolve_paths

    paths = resolve_paths(args.data_dir).ensure()
    runtime = open_runtime(paths, args.central or os.environ.get(CENTRAL_URL_ENV))
    if runtime.central_is_embedded or args.demo:
        ensure_demo(runtime.central, runtime.local)
        seed_supervision_history(runtime.local, central=runtime.central)
    return runtime


def cmd_workstation(args: argparse.Namespace) -> int:
    from clerk_app import logs
    from clerk_app import settings as settings_mod
    from clerk_app.gui import launch
    from clerk_app.i18n import normalise_language

    paths = settings_mod.resolve_paths(args.data_dir).ensure()
    logs.setup(paths.logs)
    language = normalise_language(args.lang or settings_mod.load(paths.settings_file).language)
    return launch.run(paths, language, lambda: _open(args), exit_when_shown=args.exit_when_shown)  # type: ignore[arg-type,return-value]


def cmd_queue_face(args: argparse.Namespace) -> int:
    from clerk_app import logs
    from clerk_app import settings as settings_mod
    from clerk_app.gui.queue.faces import run_face
    from clerk_app.i18n import normalise_language

    paths = settings_mod.resolve_paths(args.data_dir).ensure()
    logs.setup(paths.logs)
    language = normalise_language(args.lang or settings_mod.load(paths.settings_file).language)
    return run_face(args.face, language, lambda: _open(args), windowed=args.windowed)  # type: ignore[arg-type,return-value]


def cmd_screenshots(args: argparse.Namespace) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from clerk_app.gui.screenshots import render_all

    written = render_all(args.out, language=args.lang or "zh_CN")
    for path in written:
        print(path)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 genuine, 1 altered, 2 unknown issuer (see clerk_app.documents.verify_command)."""
    from pathlib import Path

    from clerk_app.documents.signing import keys_from_file, known_keys
    from clerk_app.documents.verification import IssuerKey
    from clerk_app.documents.verify_command import verify_text
    from clerk_app.i18n import set_language

    set_language(args.lang)
    keys: dict[str, IssuerKey] = {}
    if not args.no_store:
        from clerk_app.services.runtime import open_store
        from clerk_app.settings import resolve_paths
        from clerk_app.store.engine import sqlite_url

        paths = resolve_paths(args.data_dir).ensure()
        store = open_store(sqlite_url(paths.local_store))
        try:
            with store.unit_of_work() as uow:
                keys.update(known_keys(uow))
        finally:
            store.dispose()
    if args.keys:
        keys.update(keys_from_file(Path(args.keys)))
    text = args.payload if args.payload is not None else sys.stdin.read()
    result = verify_text(text, keys)
    for line in result.lines:
        print(line)
    return result.exit_code


def cmd_central(args: argparse.Namespace) -> int:
    from clerk_app.sync.central_admin import central_status, init_central

    if args.action == "register":
        return _register(args)
    if args.action == "init":
        report = init_central(args.url)
        print(f"{report.url}: schema {', '.join(report.revisions)}, sync schema {report.schema_version}")
        print(f"row-level security: {', '.join(report.row_security) or '-'}")
        return 0
    status = central_status(args.url)
    print(f"{status.url}: schema {', '.join(status.revisions)} ({'current' if status.up_to_date else 'OLD'})")
    print(f"change log: last {status.high_water}, pruned through {status.pruned_through}")
    for d in status.devices:
        print(
            f"  {d.device_id}  push {d.last_push_at or '-'}  pull {d.last_pull_at or '-'}  "
            f"lag {d.lag}  waiting {d.outbox_waiting}  clock {d.clock_skew_ms / 1000:+.1f}s"
        )
    return 0


def _admin_password(args: argparse.Namespace) -> str | None:
    """The administrator's password: prompted for (``--ask-password``) or from the environment;
    a password written inside ``--url`` still works but shows in the process list."""
    import getpass

    from clerk_app.services.sync import ADMIN_PASSWORD_ENV

    if args.ask_password:
        return getpass.getpass("central administrator's password: ")
    return os.environ.get(ADMIN_PASSWORD_ENV) or None


def _register(args: argparse.Namespace) -> int:
    from clerk_app.services.errors import is_expected
    from clerk_app.services.runtime import open_runtime
    from clerk_app.services.sync import admin_url, register_workstation
    from clerk_app.settings import resolve_paths

    try:
        url = admin_url(args.url, args.admin_user, _admin_password(args))
    except Exception as exc:
        if not is_expected(exc):
            raise
        print(exc, file=sys.stderr)
        return 1
    runtime = open_runtime(resolve_paths(args.data_dir).ensure(), url)
    try:
        done = register_workstation(
            runtime, url, window_number=args.window, name=args.name, hall_code=args.hall
        )
    except Exception as exc:
        if not is_expected(exc):
            raise
        print(exc, file=sys.stderr)
        return 1
    finally:
        runtime.close()
    print(f"device {done.device_id} registered with {done.hall_name}, window {done.window_number or '-'}")
    print(f"central URL saved in the settings: {done.central_url}")
    if done.role:
        print(f"database role {done.role}; its password is in the system keyring")
    print(f"first pull: {done.pulled} rows")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Command = args.command
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
