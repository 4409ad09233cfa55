"""Write every result block of README.md and docs/*.md anew from its record (autoenc/report/blocks.py).

python scripts/dev/render_docs.py           # rewrite the blocks that drifted, say which
python scripts/dev/render_docs.py --check   # say which drifted, change nothing (exit 1 if any)
"""

import argparse
import sys
from pathlib import Path

from autoenc.report.blocks import rerender

ROOT = Path(__file__).resolve().parents[2]


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 where a block drifted")
    args = parser.parse_args(argv)
    drifted = []
    for page in pages():
        text = page.read_text()
        new = rerender(text, ROOT)
        if new != text:
            drifted.append(page.relative_to(ROOT))
            if not args.check:
                page.write_text(new)
    verb = "drifted from their records" if args.check else "rewritten"
    print(f"{len(drifted)} page(s) {verb}" + "".join(f"\n  {p}" for p in drifted))
    return 1 if args.check and drifted else 0


if __name__ == "__main__":
    sys.exit(main())
