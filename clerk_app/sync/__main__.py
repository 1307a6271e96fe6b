"""``python -m clerk_app.sync --local FILE --central URL``: one sync round of a workstation store,
printed as one line. Used by the fault tests (killed at named points, see ``faults``) and handy
for an administrator checking a workstation by hand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from clerk_app.store import migrate
from clerk_app.store.engine import make_engine, sqlite_url
from clerk_app.store.state import ensure_device_id
from clerk_app.store.uow import Store
from clerk_app.sync import client


def open_for_sync(url: str, kind: str) -> Store:
    engine = make_engine(url)
    migrate.upgrade(engine)
    role = "central" if kind == "central" else "workstation"
    return Store(engine, ensure_device_id(engine, kind), role=role)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clerk_app.sync")
    parser.add_argument("--local", required=True, help="the workstation's SQLite file")
    parser.add_argument("--central", required=True, help="central store URL")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--page", type=int, default=1000)
    args = parser.parse_args(argv)
    local = open_for_sync(sqlite_url(args.local), "workstation")
    central = open_for_sync(args.central, "central")
    try:
        report = client.sync_round(local, central, batch_size=args.batch, page_size=args.page)
    finally:
        local.dispose()
        central.dispose()
    print(
        f"pushed={report.push.pushed} rejected={report.push.rejected} pulled={report.pull.received} "
        f"cursor={report.pull.cursor} waiting={report.waiting} skew_ms={report.clock_skew_ms}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
