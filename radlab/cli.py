"""``radlab <verb>``: catalog, info, data, demo, serve (and verbs other modules register).

Every verb follows one error contract (:func:`main`): radlab's own errors, a missing or unwritable file and bad
arguments become one line on stderr, ``radlab <verb>: <what is wrong>``, and the exit code of
:mod:`radlab.errors`; ``radlab --debug <verb>`` adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from pathlib import Path

from radlab.cli_args import at_least, port_number
from radlab.errors import EXIT_BAD_INPUT, EXIT_FAILED_CASES, EXIT_INTERNAL, EXIT_INTERRUPTED, InputError, RadlabError

__all__ = ["main"]

# modules that add their own verbs: each has add_parser(subparsers) setting func=...
_PLUGINS = ("radlab.cli_extract", "radlab.cli_ui", "radlab.cli_archive")


def _catalog(args) -> int:
    from radlab.catalog import CatalogError, open_catalog

    catalog = open_catalog(args.catalog)  # an invalid catalog: one line, exit 2 (main)
    print(f"{catalog.path}: {len(catalog.names)} cohorts, valid")
    status = 0
    for name in catalog.names:
        try:
            cohort = catalog[name]
            kind = "images" if cohort.spec.images else "masks only" if cohort.spec.masks else "feature table"
            line = f"  {name:<26} {len(cohort):>6} cases  {kind:<13} {cohort.spec.description[:60]}"
            if len(cohort.problems):
                line += f"  [{len(cohort.problems)} problem(s): radlab info {name}]"
        except (CatalogError, OSError) as exc:
            line, status = f"  {name:<26} unavailable: {exc}", 1
        print(line)
    return status


def _info(args) -> int:
    from radlab.catalog import open_cohort

    cohort = open_cohort(args.cohort, args.catalog)
    print(repr(cohort))
    print(cohort.spec.description)
    if cohort.outcomes:
        print("outcomes:", ", ".join(f"{k}={v}" for k, v in cohort.outcomes.items()))
    if cohort.batch:
        clinical = cohort.clinical
        for col in cohort.batch:
            print(f"{col}:", ", ".join(f"{k} ({v})" for k, v in clinical[col].value_counts().sort_index().items()))
    if cohort.spec.images:
        _print_acquisition(cohort, progress=not args.quiet, hint=not args.check)
    problems = cohort.check(voxels=True, progress=not args.quiet) if args.check else cohort.problems
    if len(problems):
        print(f"{len(problems)} problem(s):")
        print(problems.to_string(index=False))
        return EXIT_FAILED_CASES if args.check else 0
    print("no problems found" if args.check else "no problems found when opening (--check reads every case)")
    return 0


def _print_acquisition(cohort, *, progress: bool, hint: bool) -> None:
    """The first rows of the acquisition table and how many headers could not be read (--check lists them)."""
    acq = cohort.acquisition(progress=progress)  # never raises for a case: unreadable headers are in attrs
    cols = [c for c in ("vendor", "model", "field_strength", "slice_thickness", "spacing_x", "spacing_z")
            if acq[c].notna().any()]
    print("acquisition (per image, first rows):")
    print(acq[["case", "image", *cols]].head(8).to_string(index=False))
    if acq.attrs["problems"]:
        more = f" (radlab info {cohort.name} --check lists every problem)" if hint else ""
        print(f"{len(acq.attrs['problems'])} header(s) could not be read{more}")


def _data_dir(args) -> Path:
    return Path(args.data or os.environ.get("RADLAB_DATA", "data"))


def _data(args) -> int:
    from radlab.datasets import build_data

    root = _data_dir(args)
    try:  # a folder that cannot be written fails now, not half-way through the demo cohort
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"data folder {root} cannot be created ({exc.strerror}): choose another with --data or "
                         "$RADLAB_DATA", file=root) from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise InputError(f"data folder {root} is not writable: choose another with --data or $RADLAB_DATA", file=root)
    root = build_data(root, n_cases=args.cases, seed=args.seed)
    print(f"data ready in {root}")
    return 0


def _demo(args) -> int:
    from radlab.demo import prepare_demo

    args.check_serve(args)  # bad server options: refused before the data and models are built
    _data(args)
    results = prepare_demo("demo", catalog=args.catalog)
    counts = results.batch_effect.set_index("name")["n_significant"]
    print(f"demo models ready: {results.predictions.model.nunique()} models, {len(results.predictions)} predictions; "
          f"features differing by centre: {counts['before']} before ComBat, {counts['after']} after")
    return args.serve(args)  # radlab.cli_ui sets serve and check_serve


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line (exit 2), like every other error of the command."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="radlab", description="Radiomics and deep-learning outcome prediction on image cohorts.",
                     epilog="exit codes: 0 done, 1 problems found or some cases failed, 2 bad input or options, "
                            "3 nothing produced, 70 internal error, 130 interrupted")
    parser.add_argument("--catalog", default=None, help="catalog file (default: $RADLAB_CATALOG or ./data_catalog.yaml)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="verb", required=True)

    p = sub.add_parser("catalog", help="list and validate the catalog's cohorts")
    p.set_defaults(func=_catalog)

    p = sub.add_parser("info", help="describe a cohort: cases, outcomes, batches, acquisition, problems")
    p.add_argument("cohort")
    p.add_argument("--check", action="store_true", help="read every case and report all problems")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_info)

    def data_args(p):
        p.add_argument("--data", default=None, help="data folder (default: $RADLAB_DATA or ./data)")
        p.add_argument("--cases", type=at_least(1), default=150, help="demo cohort size")
        p.add_argument("--seed", type=int, default=0)

    def serve_args(p):
        p.add_argument("--address", default="localhost")
        p.add_argument("--port", type=port_number, default=5006)
        p.add_argument("--basic-auth", default=None, help="password or users JSON file {\"user\": \"password\"} "
                                                          "(required beyond localhost)")
        p.add_argument("--show", action="store_true", help="open a browser")

    p = sub.add_parser("data", help="build the demo cohort and fetch the reference data sets (only what is missing)")
    data_args(p)
    p.set_defaults(func=_data)

    p = sub.add_parser("serve", help="serve the dashboards")
    serve_args(p)

    p = sub.add_parser("demo", help="build the demo data if missing, then serve the dashboards on it")
    data_args(p)
    serve_args(p)
    p.set_defaults(func=_demo)

    for name in _PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.add_parser(sub)
    for p in sub.choices.values():  # --debug after the verb too
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of an error")
    return parser


def _one_line(exc: BaseException) -> str:
    r"""An error's message on one line: a multi-line message (a catalog's problems) joined with '; '.

    Examples
    --------
    >>> _one_line(ValueError("catalog c.yaml: 2 problem(s)\n  cohort 'a': bad\n  cohort 'b': bad"))
    "catalog c.yaml: 2 problem(s); cohort 'a': bad; cohort 'b': bad"
    """
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        text = str(exc.args[0])  # str(KeyError) adds quotes
    elif isinstance(exc, OSError) and exc.strerror and exc.filename:  # '[Errno 2] ...: x' -> 'x: ...'
        text = f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc)
    return "; ".join(line.strip() for line in text.splitlines() if line.strip()) or type(exc).__name__


def _raised_by_radlab(exc: BaseException) -> bool:
    """Whether the innermost frame of the traceback is radlab's own code (a check of an argument or input)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_globals.get("__name__", "").startswith("radlab.")


def _outcome(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one-line message for an error that ended a verb."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(exc, RadlabError):
        return exc.exit_code, _one_line(exc)
    if isinstance(exc, OSError) or (isinstance(exc, ValueError | KeyError | TypeError) and _raised_by_radlab(exc)):
        return EXIT_BAD_INPUT, _one_line(exc)
    return EXIT_INTERNAL, (f"internal error: {type(exc).__name__}: {_one_line(exc)} (rerun with --debug for the "
                           "traceback)")


def main(argv: list[str] | None = None) -> int:
    """Run ``radlab <verb>``; returns the exit code of :mod:`radlab.errors`.

    An error becomes one line on stderr, ``radlab <verb>: <message>`` (with ``--debug``: after the traceback).
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # a usage error (already printed on one line, exit 2) or --help
        return int(exc.code or 0)
    try:
        return int(args.func(args) or 0)
    except (Exception, KeyboardInterrupt) as exc:
        code, message = _outcome(exc)
        if args.debug:
            traceback.print_exc()
        print(f"radlab {args.verb}: {message}", file=sys.stderr, flush=True)
        return code


if __name__ == "__main__":
    sys.exit(main())
