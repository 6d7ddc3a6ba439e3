"""``radlab index`` (a DICOM archive into a cohort), ``radlab deidentify`` and ``radlab ibsi``."""

from __future__ import annotations

import os
from pathlib import Path

from radlab.errors import EXIT_FAILED_CASES, EXIT_NOTHING, RadlabError

__all__ = ["NothingIndexed", "add_parser"]


class NothingIndexed(RadlabError):
    """The archive gave no usable case (exit code 3)."""

    exit_code = EXIT_NOTHING


def _index(args) -> int:
    import pandas as pd

    from radlab.io import index_archive

    catalog = Path(args.index_catalog or args.catalog or os.environ.get("RADLAB_CATALOG", "data_catalog.yaml"))
    ix = index_archive(args.dir, name=args.name, catalog=catalog, files=args.files, clinical=args.clinical,
                       id_column=args.id, series=args.series or None, rois=args.roi, description=args.description,
                       cache=not args.no_cache)
    print(ix.summary())
    if len(ix.problems):
        with pd.option_context("display.max_colwidth", 160, "display.width", 250):
            print(ix.problems.to_string(index=False))
    if ix.files.empty:
        raise NothingIndexed(f"{args.dir}: no patient has a usable series with every mask asked for "
                             f"({len(ix.problems)} problem(s) above); nothing written")
    return EXIT_FAILED_CASES if len(ix.problems) else 0


def add_parser(subparsers) -> None:
    """Register ``index``, ``deidentify`` and ``ibsi`` on the ``radlab`` command's subparsers."""
    p = subparsers.add_parser("index", help="index a DICOM archive into a cohort (files table + catalog entry)",
                              description="Crawl DIR (headers only, cached), group series, link RTSTRUCT/SEG by UID, "
                                          "choose series, map ROI names; write a files table and a catalog entry. "
                                          "Exit 0: no problem, 1: problems listed, 3: no usable case.")
    p.add_argument("dir", help="archive folder (any layout: series are found by UID, not by folder)")
    p.add_argument("--name", required=True, help="cohort name in the catalog")
    p.add_argument("--catalog", dest="index_catalog", default=None,
                   help="catalog file to add the cohort to, replacing one of the same name (default: radlab "
                        "--catalog, $RADLAB_CATALOG or ./data_catalog.yaml; created if missing)")
    p.add_argument("--files", default=None, help="files table to write (default: <name>_files.csv beside the catalog)")
    p.add_argument("--clinical", default=None, help="clinical CSV whose --id column holds PatientIDs")
    p.add_argument("--id", default=None, help="id column of --clinical (default case_id)")
    p.add_argument("--roi", nargs="+", default=[], metavar="NAME=PATTERN",
                   help="mask variable and the ROI names it takes, a regular expression matched whole, ignoring case "
                        "(e.g. 'GTV=GTV.*|gtv-1')")
    p.add_argument("--series", nargs="+", default=[], metavar="NAME=MODALITY[:PATTERN]",
                   help="image variable and its series: modality and a SeriesDescription pattern, e.g. 'CT=CT' or "
                        "'T2w=MR:t2.*tra'; most slices wins (default: the archive's most common modality)")
    p.add_argument("--description", default="", help="the cohort's description in the catalog")
    p.add_argument("--no-cache", action="store_true", help="read every header again (no header cache)")
    p.set_defaults(func=_index)
