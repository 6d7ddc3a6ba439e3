"""``radlab extract COHORT --params ... --scheduler ... --out features.parquet``."""

from __future__ import annotations

import sys

from radlab.cli_args import at_least, output_file
from radlab.errors import EXIT_FAILED_CASES, EXIT_NOTHING, RadlabError

__all__ = ["NothingExtracted", "add_parser", "extract_command"]


class NothingExtracted(RadlabError):
    """No case of the cohort produced features (exit code 3)."""

    exit_code = EXIT_NOTHING


def extract_command(args) -> int:
    """Extract the features of a catalog cohort and write them (parquet or CSV); failing cases are named
    on stderr and written next to the output as ``<out>.errors.csv`` (case, file, message).

    Exit status 0 when every case produced features, 1 when some failed, 3 (:class:`NothingExtracted`, no
    table written) when none did; a bad cohort or ``--params`` raises before anything is computed (exit 2).
    """
    from radlab.catalog import open_cohort
    from radlab.features import errors, extract

    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)  # an unwritable folder fails now, not after the extraction
    cohort = open_cohort(args.cohort, getattr(args, "catalog", None))
    df = extract(cohort, args.params, scheduler=args.scheduler, cache=False if args.no_cache else args.cache,
                 backend=args.backend, n_workers=args.workers, progress=not args.quiet)
    failed = errors(df)  # each failed case is also logged (stderr) as it fails
    errors_file = out.with_name(out.name + ".errors.csv")
    if len(failed):
        failed.to_csv(errors_file, index=False)
    if df.empty:
        left_out = len(cohort.problems)
        opened = f"; {left_out} left out when opening (radlab info {args.cohort})" if left_out else ""
        listed = f"; case, file and message in {errors_file}" if len(failed) else ""
        raise NothingExtracted(f"no case of cohort {args.cohort!r} produced features ({len(failed)} failed{opened})"
                               f"{listed}; no table written")
    table = df.copy()
    table.attrs = {}
    if out.suffix.lower() == ".csv":
        table.to_csv(out)
    else:
        table.to_parquet(out)
    prov = df.attrs["provenance"]
    print(f"{len(df)} cases x {df.shape[1]} features -> {out} ({prov['extractor']} {prov['version']}, "
          f"params {prov['param_hash']}, {len(prov['computed'])} computed, {len(prov['cached'])} from cache)")
    if len(failed):
        print(f"radlab extract: {len(failed)} of {len(failed) + len(df)} case(s) failed: "
              f"{', '.join(failed.case[:5])}{' ...' if len(failed) > 5 else ''}; case, file and message in "
              f"{errors_file}", file=sys.stderr)
        return EXIT_FAILED_CASES
    return 0


def add_parser(subparsers) -> None:
    """Register ``extract`` on the ``radlab`` command's subparsers."""
    p = subparsers.add_parser("extract", help="extract radiomic features of a cohort (dask, cached per case)")
    p.add_argument("cohort", help="cohort name in the catalog")
    p.add_argument("--params", default="demo", help="preset (ct, mr, demo) or pyradiomics YAML file")
    p.add_argument("--scheduler", default=None, help="dask scheduler address (default: $RADLAB_SCHEDULER or a "
                                                     "LocalCluster; 'sync' runs in this process)")
    p.add_argument("--workers", type=at_least(1), default=None, help="LocalCluster worker processes")
    p.add_argument("--out", type=output_file(".parquet", ".csv"), default="features.parquet",
                   help="output table (.parquet or .csv)")
    p.add_argument("--cache", default=None, help="cache folder (default: $RADLAB_CACHE/features)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    p.add_argument("--backend", default="pyradiomics", choices=["pyradiomics", "mirp"])
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=extract_command)
