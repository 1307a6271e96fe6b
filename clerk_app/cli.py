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
    return parser


def _open(args: argparse.Namespace) -> object:
    from clerk_app import logs
    from clerk_app.services.demo import ensure_demo
    from clerk_app.services.runtime import open_runtime
    from clerk_app.settings import resolve_paths

    paths = resolve_paths(args.data_dir).ensure()
    logs.setup(paths.logs)
    runtime = open_runtime(paths, args.central or os.environ.get(CENTRAL_URL_ENV))
    if runtime.central_is_embedded or args.demo:
        ensure_demo(runtime.central, runtime.local)
    return runtime


def _language(args: argparse.Namespace, runtime: object | None) -> str:
    from clerk_app.i18n import normalise_language

    chosen = args.lang or (getattr(getattr(runtime, "settings", None), "language", None))
    return normalise_language(chosen)


def cmd_workstation(args: argparse.Namespace) -> int:
    from clerk_app.gui import workstation

    try:
        runtime = _open(args)
    except Exception as exc:  # shown in a dialog, never as a traceback
        return workstation.show_startup_error(exc, _language(args, None))
    if args.exit_when_shown:
        return _exit_when_shown(runtime, _language(args, runtime))
    return workstation.run(runtime, _language(args, runtime))  # type: ignore[arg-type]


def _exit_when_shown(runtime: object, language: str) -> int:
    """For the start-up benchmark: show the login window, then quit at once."""
    from PySide6.QtCore import QTimer

    from clerk_app.gui import app as gui_app
    from clerk_app.gui.workstation import Workstation

    app = gui_app.application()
    gui_app.configure(app, language)
    station = Workstation(runtime, app)  # type: ignore[arg-type]
    dialog = station.login_dialog()
    dialog.show()
    QTimer.singleShot(0, app.quit)
    app.exec()
    station.shutdown()
    return 0


def cmd_screenshots(args: argparse.Namespace) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from clerk_app.gui.screenshots import render_all

    written = render_all(args.out, language=args.lang or "zh_CN")
    for path in written:
        print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command: Command = args.command
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
