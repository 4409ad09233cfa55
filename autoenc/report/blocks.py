"""The result blocks of README.md and docs/*.md, each written from a record committed under docs/
(a make_table table.csv or table.md, probe.json files): never by hand. In a page a block is

    <!-- block: NAME ARG ... -->
    (what render(NAME, ARG, ...) writes)
    <!-- end block -->

`python scripts/dev/render_docs.py` rewrites every block; tests/test_docs.py fails where a block's
text differs from what its record renders (a number changed by hand, a record changed since)."""

import re
from collections.abc import Callable
from pathlib import Path

from autoenc.report.field_blocks import anchors, colorizers, curve, targets
from autoenc.report.gpu_model import gpu_model
from autoenc.report.result_blocks import cells, disk, findings, lr_study, printed, probes, ratios, restore, suite

BLOCK = re.compile(r"(<!-- block: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)(<!-- end block -->)", re.S)


RENDER: dict[str, Callable[..., str]] = {
    "printed": printed,
    "suite": suite,
    "gpu_model": gpu_model,
    "disk": disk,
    "cells": cells,
    "findings": findings,
    "lr_study": lr_study,
    "restore": restore,
    "probes": probes,
    "ratios": ratios,
    "anchors": anchors,
    "targets": targets,
    "curve": curve,
    "colorizers": colorizers,
}


def render(spec: str, root: Path) -> str:
    """A block's text from its spec ("NAME ARG ..."), paths taken from the project's root (numbers as they are)."""
    name, *args = spec.split()
    return RENDER[name](*(a if a.isdigit() else str(root / a) for a in args))


def rerender(text: str, root: Path) -> str:
    """The page with every block written anew from its record."""
    return BLOCK.sub(lambda m: m.group(1) + render(m.group("spec"), root) + "\n" + m.group(4), text)


def blocks(text: str) -> list[tuple[str, str]]:
    """(spec, text as it stands) of every block of a page."""
    return [(m.group("spec"), m.group("body").rstrip("\n")) for m in BLOCK.finditer(text)]
