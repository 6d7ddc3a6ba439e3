"""``radlab index`` (a DICOM archive into a cohort), ``radlab deidentify`` (a DICOM tree, PS3.15) and ``radlab ibsi``
(IBSI 1 compliance on the CT phantom)."""

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


def _deidentify(args) -> int:
    from radlab.io import deidentify

    result = deidentify(args.src, args.dst, mapping=args.mapping, salt=args.salt or os.environ.get("RADLAB_DEID_SALT"),
                        retain_device=not args.no_device, retain_patient=not args.no_patient,
                        modified_dates=not args.no_dates, clean_descriptors=not args.no_descriptors)
    print(f"{len(result.files)} DICOM files of {result.files.patient.nunique()} patients -> {args.dst}; "
          f"{len(result.skipped)} other files not copied")
    print(f"mapping (original -> pseudonym, {len(result.mapping)} rows) -> {result.mapping_path}: keep it apart, "
          "it re-identifies the data")
    for problem in result.damaged:
        print(f"damaged DICOM file, not copied: {problem}")
    return EXIT_FAILED_CASES if result.damaged else 0


def _ibsi(args) -> int:
    import pandas as pd

    from radlab.features import ibsi_report, match_rates

    reports = [ibsi_report(c, backend=args.backend, cohort=None, case=args.case, catalog=args.catalog,
                           cache=False if args.no_cache else None) for c in args.config]
    report = pd.concat(reports, ignore_index=True)
    if args.out:
        report.to_csv(args.out, index=False)
    with pd.option_context("display.max_rows", None, "display.width", 200):
        shown = report if args.all else report[~report.match]
        if len(shown):
            print(shown.drop(columns="backend").to_string(index=False))
        rates = match_rates(report)
        print(rates.to_string(float_format=lambda v: f"{v:.0%}"))
    print(f"IBSI configuration(s) {', '.join(args.config)} ({args.backend}): {int(report.match.sum())} of "
          f"{len(report)} reference values matched" + (f"; table -> {args.out}" if args.out else ""))
    return 0 if report.match.all() else EXIT_FAILED_CASES


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

    p = subparsers.add_parser("deidentify", help="de-identify a DICOM tree (PS3.15 basic profile + radiomics options)",
                              description="PS3.15 Basic Application Level Confidentiality Profile with Retain Device "
                                          "Identity, Retain Patient Characteristics, Retain Longitudinal Temporal "
                                          "Information with Modified Dates and Clean Descriptors; UIDs remapped "
                                          "consistently; a mapping table written apart. Exit 0: done, 1: damaged "
                                          "DICOM files listed (not copied), 2: bad input (nothing written).")
    p.add_argument("src", help="folder of DICOM files")
    p.add_argument("dst", help="new folder for the de-identified files")
    p.add_argument("--mapping", default=None, help="mapping table to write (default <dst>.mapping.csv; outside dst)")
    p.add_argument("--salt", default=None, help="key of pseudonyms, date offsets and UIDs (default: "
                                                "$RADLAB_DEID_SALT, else random); the same salt gives the same ones")
    p.add_argument("--no-device", action="store_true", help="without Retain Device Identity")
    p.add_argument("--no-patient", action="store_true", help="without Retain Patient Characteristics")
    p.add_argument("--no-dates", action="store_true", help="without Modified Dates (dates removed)")
    p.add_argument("--no-descriptors", action="store_true", help="without Clean Descriptors (descriptions removed)")
    p.set_defaults(func=_deidentify)

    p = subparsers.add_parser("ibsi", help="IBSI 1 compliance on the CT phantom (cohort lung-ct, case 1)",
                              description="Extract the IBSI CT phantom with preset ibsi-ct-<config> and compare every "
                                          "IBSI reference value; prints the mismatches and the match rate per family. "
                                          "Exit 0: all matched, 1: some did not.")
    p.add_argument("--config", nargs="+", default=["A"], type=str.upper, choices=["A", "B", "C", "D", "E"])
    p.add_argument("--backend", default="mirp", choices=["mirp", "pyradiomics"])
    p.add_argument("--case", default="1", help="case id of the phantom in cohort lung-ct")
    p.add_argument("--out", default=None, help="write the whole table (CSV)")
    p.add_argument("--all", action="store_true", help="print every row, not only the mismatches")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    p.set_defaults(func=_ibsi)
