"""radlab's own errors and the exit codes the ``radlab`` command gives for them.

Every error radlab raises for bad input derives from :class:`RadlabError`; its message names the case, the file,
what is wrong and what to do. The command line turns one into a single line on stderr and the exit code below
(a traceback only with ``radlab --debug``).

=====  ==========================================================================================
code   meaning
=====  ==========================================================================================
0      done
1      done, but problems were found or some cases failed (they are listed; the rest completed)
2      bad input or options: nothing was computed (catalog, tables, parameter file, server options)
3      nothing produced: every case failed
70     internal error (a bug in radlab or a library it calls): rerun with ``--debug`` for the traceback
130    interrupted (Ctrl-C); whatever was finished is kept in the cache
=====  ==========================================================================================
"""

from __future__ import annotations

__all__ = ["EXIT_FAILED_CASES", "EXIT_BAD_INPUT", "EXIT_NOTHING", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "RadlabError",
           "InputError"]

EXIT_FAILED_CASES = 1
EXIT_BAD_INPUT = 2
EXIT_NOTHING = 3
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class RadlabError(Exception):
    """Base of radlab's errors; ``exit_code`` is what the command line exits with for it.

    ``file`` and ``case`` name the file and the case at fault where there is one (problem tables show them).
    """

    exit_code: int = EXIT_BAD_INPUT

    def __init__(self, message: str = "", *, file: str = "", case: str = ""):
        super().__init__(message)
        self.file, self.case = str(file), str(case)


class InputError(RadlabError, ValueError):
    """An input (table, outcome, predictions, parameter file, option) is invalid; the message says which and why."""
