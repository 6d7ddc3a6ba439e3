"""Helpers shared by the bad-input tests (imported relatively: ``from ._helpers import ...``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from radlab.catalog import Catalog


def write_catalog(root: Path, text: str) -> Path:
    """``root/catalog.yaml`` holding ``text`` (dedented)."""
    path = root / "catalog.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def open_m(root: Path, name: str = "m"):
    """Cohort ``name`` of ``root/catalog.yaml`` (a new Catalog each time: nothing cached between opens)."""
    return Catalog(root / "catalog.yaml")[name]


def messy_catalog(root: Path) -> str:
    """The catalog the ``messy`` fixture wrote (cohort ``m``)."""
    return (root / "catalog.yaml").read_text()
