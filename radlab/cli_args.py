"""Value types of the ``radlab`` command's options: a bad value is refused while the command line is parsed
(one line, exit 2), before anything is built or started."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

__all__ = ["at_least", "output_file", "port_number"]


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum``.

    Examples
    --------
    >>> at_least(1)("4")
    4
    >>> at_least(1)("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be an integer >= 1; got '0'
    """
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}; got {text!r}")
        return value
    return parse


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535.

    Examples
    --------
    >>> port_number("70000")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a port number from 1 to 65535; got '70000'
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535; got {text!r}")
    return value


def output_file(*suffixes: str) -> Callable[[str], Path]:
    """An argparse type: a file path ending with one of ``suffixes`` (checked before anything is computed).

    Examples
    --------
    >>> output_file(".png", ".svg")("plots/km.SVG")
    PosixPath('plots/km.SVG')
    >>> output_file(".parquet", ".csv")("features.xlsx")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must end with .parquet or .csv; got 'features.xlsx'
    """
    def parse(text: str) -> Path:
        if Path(text).suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(f"must end with {' or '.join(suffixes)}; got {text!r}")
        return Path(text)
    return parse
