"""``radlab export-html PAGE --out file.html`` and ``radlab export-figure PAGE FIGURE --out plot.png|svg``
(registered by radlab.cli's plugin list)."""

from __future__ import annotations

from radlab.cli_args import at_least, output_file

__all__ = ["add_parser"]


def _inputs(args):
    """PageInputs from the catalog, with the predictions files given (if any); pseudonyms salted with
    ``$RADLAB_PSEUDONYM_SALT`` when set (stable across restarts), else a random salt."""
    import os

    from radlab.ui import PageInputs, Pseudonymiser, read_predictions

    given = {"predictions": read_predictions(*args.predictions)} if getattr(args, "predictions", None) else {}
    pseudonymiser = Pseudonymiser(os.environ.get("RADLAB_PSEUDONYM_SALT"), enabled=not args.show_case_ids)
    return PageInputs(args.catalog, pseudonymiser=pseudonymiser, **given)


def _export_html(args) -> int:
    from radlab.ui._export import export_html, page_figures
    from radlab.ui._serve import TITLES

    args.out.parent.mkdir(parents=True, exist_ok=True)  # an unwritable folder fails before the figures are computed
    figures = page_figures(args.page, _inputs(args))
    path = export_html(figures, args.out, title=f"radlab · {TITLES[args.page]}")
    print(f"wrote {path} ({', '.join(figures)})")
    return 0


def _export_figure(args) -> int:
    from radlab.errors import InputError
    from radlab.ui._export import export_figure, page_figures

    args.out.parent.mkdir(parents=True, exist_ok=True)
    figures = page_figures(args.page, _inputs(args))
    plots = {k: v for k, v in figures.items() if not hasattr(v, "to_csv")}
    if args.figure not in plots:
        raise InputError(f"page {args.page!r} has the figures {list(plots)}; got {args.figure!r}")
    print(f"wrote {export_figure(plots[args.figure], args.out)}")
    return 0


# the page names of radlab.ui._serve.TITLES, kept here so building the CLI parser does not import panel
PAGE_NAMES = ("cohort", "roc", "survival", "calibration", "saliency", "harmonisation", "shap")


def add_parser(sub) -> None:
    for verb, func, suffixes, helptext in (
            ("export-html", _export_html, (".html",), "standalone HTML of a page's figures (no server)"),
            ("export-figure", _export_figure, (".png", ".svg"), "one figure of a page as PNG or SVG")):
        p = sub.add_parser(verb, help=helptext)
        p.add_argument("page", choices=PAGE_NAMES)
        if verb == "export-figure":
            p.add_argument("figure", help="figure title, e.g. ROC, Kaplan-Meier, Calibration")
        p.add_argument("--out", required=True, type=output_file(*suffixes),
                       help=f"output file ({' or '.join(suffixes)})")
        p.add_argument("--show-case-ids", action="store_true", help="show real case ids instead of pseudonyms")
        _predictions_arg(p)
        p.set_defaults(func=func)
    for verb in ("serve", "demo"):  # the sharing options of `radlab serve` / `radlab demo`
        if verb in sub.choices:
            p = sub.choices[verb]
            p.add_argument("--cookie-secret", default=None, help="secret for the auth cookie (default: random)")
            p.add_argument("--oauth-provider", default=None, help="Panel OAuth provider (github, google, azure, ...)")
            p.add_argument("--oauth-key", default=None)
            p.add_argument("--oauth-secret", default=None)
            p.add_argument("--oauth-redirect-uri", default=None)
            p.add_argument("--oauth-encryption-key", default=None)
            p.add_argument("--show-case-ids", action="store_true", help="show real case ids instead of pseudonyms")
            p.add_argument("--pages", nargs="+", choices=PAGE_NAMES, default=None, help="pages to serve (default: all)")
            p.add_argument("--num-procs", type=at_least(1), default=1,
                           help="server processes sharing the port (more concurrent sessions; default 1)")
            _predictions_arg(p)
            p.set_defaults(serve=_serve, check_serve=_serve_kwargs)
            if verb == "serve":
                p.set_defaults(func=_serve)


def _predictions_arg(p) -> None:
    p.add_argument("--predictions", nargs="+", default=None, metavar="FILE",
                   help="your predictions tables (CSV/Parquet with radlab's prediction columns) for the ROC, "
                        "survival and calibration pages, instead of the demo's")


def _serve_kwargs(args) -> dict:
    """serve()'s options from the command line; refuses bad ones (one line, exit 2) before anything starts."""
    from radlab.ui._serve import check_options

    oauth = None
    if args.oauth_provider:
        oauth = {k: v for k, v in {"oauth_provider": args.oauth_provider, "oauth_key": args.oauth_key,
                                   "oauth_secret": args.oauth_secret, "oauth_redirect_uri": args.oauth_redirect_uri,
                                   "oauth_encryption_key": args.oauth_encryption_key}.items() if v}
    check_options(address=args.address, port=args.port, basic_auth=args.basic_auth, oauth=oauth,
                  num_procs=args.num_procs)
    return dict(catalog=args.catalog, address=args.address, port=args.port, basic_auth=args.basic_auth,
                cookie_secret=args.cookie_secret, oauth=oauth, show_case_ids=args.show_case_ids, show=args.show,
                pages=args.pages, num_procs=args.num_procs)


def _serve(args) -> int:
    from radlab.ui import serve

    kwargs = _serve_kwargs(args)
    inputs = _inputs(args)  # a missing or unreadable --predictions file: one line, exit 2
    import logging

    warm_log = logging.getLogger("radlab.ui._serve")  # "warm-up: N selections computed in X s"
    warm_log.addHandler(logging.StreamHandler())
    warm_log.setLevel(logging.INFO)
    print(f"radlab dashboards: http://{args.address}:{args.port}/", flush=True)
    serve(inputs=inputs, **kwargs)
    return 0
