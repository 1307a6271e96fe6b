"""Run every benchmark module in bench/ (``bench_*.py`` with ``run(quick)``) and write the results
as JSON and as a table to bench/results/.  ``python3 dev.py bench [--quick] [name …]``"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import platform
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("names", nargs="*", help="only these benchmark modules, e.g. startup domain")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    modules = sorted(HERE.glob("bench_*.py"))
    if args.names:
        modules = [m for m in modules if m.stem.removeprefix("bench_") in args.names]
    results: list[dict[str, Any]] = []
    for path in modules:
        print(f"== {path.stem}", flush=True)
        for measured in _load(path).run(quick=args.quick):
            results.append({"module": path.stem, **measured})
            print("   " + "  ".join(f"{k}={_fmt(v)}" for k, v in measured.items()), flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    meta = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.platform(),
        "quick": args.quick,
    }
    (out / "results.json").write_text(
        json.dumps({"meta": meta, "results": results}, ensure_ascii=False, indent=2)
    )
    columns = ["module", "name", "value", "unit", "baseline", "ratio", "goal"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in results]
    (out / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
