"""Value types of the ``radlab`` command's options: a bad value is refused while the command line is parsed
(one line, exit 2), before anything is built or started."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["at_least", "port_number"]


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
