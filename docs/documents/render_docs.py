"""Render every document type of the sample set to PNG pages in this folder (needs pdftoppm).

Run from the repository root: ``.venv/bin/python docs/documents/render_docs.py``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from clerk_app.documents import samples
from clerk_app.documents.layout import Reprint
from clerk_app.documents.render import doc_type_of, render
from clerk_app.documents.templates import load_templates
from clerk_app.documents.verification import Signer

HERE = Path(__file__).resolve().parent
DPI = "60"


def main() -> int:
    templates = load_templates()
    signer = Signer.from_private_bytes(bytes(32))  # a fixed demo key: reproducible images
    for old in HERE.glob("*.png"):
        old.unlink()
    jobs = [(f"{doc_type_of(d).value}", d, None) for d in samples.realistic()]
    jobs.append(("acceptance-reprint", samples.realistic()[0], Reprint(2)))
    jobs.append(("correction-hostile", samples.hostile()[2], None))
    with tempfile.TemporaryDirectory() as tmp:
        for name, document, reprint in jobs:
            pdf = Path(tmp) / f"{name}.pdf"
            pdf.write_bytes(render(document, templates, signer=signer, reprint=reprint))
            subprocess.run(["pdftoppm", "-r", DPI, "-png", str(pdf), str(HERE / name)], check=True)
    for png in sorted(HERE.glob("*.png")):
        print(png.relative_to(HERE.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
