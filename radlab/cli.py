"""``radlab <verb>``: catalog, info, data, demo, serve (and verbs other modules register)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

__all__ = ["main"]

# modules that add their own verbs: each has add_parser(subparsers) setting func=...
_PLUGINS = ("radlab.cli_extract", "radlab.cli_ui")


def _catalog(args) -> int:
    from radlab.catalog import CatalogError, open_catalog

    try:
        catalog = open_catalog(args.catalog)
    except CatalogError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return 1
    print(f"{catalog.path}: {len(catalog.names)} cohorts, valid")
    status = 0
    for name in catalog.names:
        try:
            cohort = catalog[name]
            kind = "images" if cohort.spec.images else "feature table"
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
        acq = cohort.acquisition(progress=not args.quiet)
        cols = [c for c in ("vendor", "model", "field_strength", "slice_thickness", "spacing_x", "spacing_z") if acq[c].notna().any()]
        print("acquisition (per image, first rows):")
        print(acq[["case", "image", *cols]].head(8).to_string(index=False))
    problems = cohort.check(voxels=True, progress=not args.quiet) if args.check else cohort.problems
    if len(problems):
        print(f"{len(problems)} problem(s):")
        print(problems.to_string(index=False))
        return 1 if args.check else 0
    print("no problems found" if args.check else "no problems found when opening (--check reads every case)")
    return 0


def _data_dir(args) -> Path:
    return Path(args.data or os.environ.get("RADLAB_DATA", "data"))


def _data(args) -> int:
    from radlab.datasets import build_data

    root = build_data(_data_dir(args), n_cases=args.cases, seed=args.seed)
    print(f"data ready in {root}")
    return 0


def _serve(args) -> int:
    from radlab.ui import serve

    print(f"radlab dashboards: http://{args.address}:{args.port}/", flush=True)
    serve(catalog=args.catalog, address=args.address, port=args.port, basic_auth=args.basic_auth, show=args.show)
    return 0


def _demo(args) -> int:
    from radlab.demo import prepare_demo

    _data(args)
    results = prepare_demo("demo", catalog=args.catalog)
    counts = results.batch_effect.set_index("name")["n_significant"]
    print(f"demo models ready: {results.predictions.model.nunique()} models, {len(results.predictions)} predictions; "
          f"features differing by centre: {counts['before']} before ComBat, {counts['after']} after")
    return getattr(args, "serve", _serve)(args)  # radlab.cli_ui's serve when the UI plugin is there


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radlab", description="Radiomics and deep-learning outcome prediction on image cohorts.")
    parser.add_argument("--catalog", default=None, help="catalog file (default: $RADLAB_CATALOG or ./data_catalog.yaml)")
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
        p.add_argument("--cases", type=int, default=150, help="demo cohort size")
        p.add_argument("--seed", type=int, default=0)

    def serve_args(p):
        p.add_argument("--address", default="localhost")
        p.add_argument("--port", type=int, default=5006)
        p.add_argument("--basic-auth", default=None, help="password or users JSON file (required beyond localhost)")
        p.add_argument("--show", action="store_true", help="open a browser")

    p = sub.add_parser("data", help="build the demo cohort and fetch the reference data sets (only what is missing)")
    data_args(p)
    p.set_defaults(func=_data)

    p = sub.add_parser("serve", help="serve the dashboards")
    serve_args(p)
    p.set_defaults(func=_serve)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
