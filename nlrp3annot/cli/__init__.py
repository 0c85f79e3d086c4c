"""The command line: the ``nlrp3annot`` command, its exit codes and its one-line errors.
The work is done by the library.

Exit codes: 0 success; 1 some of several inputs failed (the rest were written); 2 a problem
with the input or environment (one line on stderr); anything else is a bug and shows a
traceback.

The package, each module importing only those above it in this list:

- ``options``, ``parser``: the grammar (every command, option and help text);
- ``common``: exit codes, input lists, output checks, the run's record (command line,
  pseudonyms);
- one module a command family: ``annotate``, ``scan``, ``lookup`` (also ``plan`` and
  ``lab-profile``), ``reference`` (``reference fetch``, ``knowledge update``), ``report``,
  ``results`` (``compare``, and the results folder ``run`` and ``demo`` share), ``run``
  (``run``, ``demo``);
- this module: parse, run the command, turn errors into exit codes.

Each command turns its argparse Namespace into a typed settings value once
(``*Settings.from_args``) and works from that: no argparse Namespace goes further.
"""

from __future__ import annotations

import io
import os
import sys

from nlrp3annot.cli.common import EXIT_SOME_FAILED, EXIT_USER_ERROR
from nlrp3annot.errors import Nlrp3AnnotError

__all__ = ["EXIT_SOME_FAILED", "EXIT_USER_ERROR", "console", "main"]

# command -> "module:function", imported when the command runs (the results commands pull
# in pandas and the statistics; annotate should not pay for them)
COMMANDS = {
    "annotate": "annotate:cmd_annotate",
    "reference fetch": "reference:cmd_reference_fetch",
    "compare": "results:cmd_compare",
    "run": "run:cmd_run",
    "demo": "run:cmd_demo",
    "plan": "lookup:cmd_plan",
    "lab-profile": "lookup:cmd_lab_profile",
    "report": "report:cmd_report",
    "scan": "scan:cmd_scan",
    "lookup": "lookup:cmd_lookup",
    "knowledge update": "reference:cmd_knowledge_update",
}


def _command(action: str):
    import importlib

    module, function = COMMANDS[action].split(":")
    return getattr(importlib.import_module(f"nlrp3annot.cli.{module}"), function)


def main(argv: list[str] | None = None) -> int:
    from nlrp3annot.cli.parser import build_parser

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, a usage error (already said on stderr)
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    # as the user typed it (the results record it): argv in-process, else this process's
    args.command_line = ["nlrp3annot", *(argv if argv is not None else sys.argv[1:])]
    try:
        code = _command(args.action)(args)
        sys.stdout.flush()  # a full device refuses the last block here: say so, not later
        return code
    except Nlrp3AnnotError as exc:
        print(f"nlrp3annot: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # the environment: a path under a file, a full disk, permissions
        if isinstance(exc, BrokenPipeError):
            return 0
        if isinstance(exc, StdoutError):
            print(f"nlrp3annot: error: cannot write to stdout: {exc.strerror}", file=sys.stderr)
            return EXIT_USER_ERROR
        where = f"{exc.filename}: " if exc.filename else ""
        reason = exc.strerror or str(exc)
        print(
            f"nlrp3annot: error: {where}{reason}; check the path, its permissions and free space",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    except RuntimeError as exc:  # pathlib's only user-facing one: a symbolic link loop
        if not str(exc).startswith("Symlink loop"):
            raise
        where = str(exc).removeprefix("Symlink loop from ").strip("'")
        print(f"nlrp3annot: error: {where}: is a symbolic link that loops back on itself "
              "(point it at the real file)", file=sys.stderr)  # fmt: skip
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("nlrp3annot: interrupted", file=sys.stderr)
        return 130


class StdoutError(OSError):
    """A write to standard output that failed (``> /dev/full``): no file name to give."""


class _StdoutFile(io.FileIO):
    """File descriptor 1, whose failed writes say they were to stdout (a write's OSError
    carries no file name, and the data is usually the output of the whole run). After one
    failure the rest is dropped: the error is said once, and the exit flush cannot raise
    it again."""

    failed = False

    def write(self, data) -> int:
        if self.failed:
            return len(data)
        try:
            return super().write(data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            self.failed = True
            raise StdoutError(exc.errno, exc.strerror) from None


def _stdout_that_names_itself() -> None:
    """Standard output, as Python made it, over :class:`_StdoutFile`."""
    old = sys.stdout
    if old is None or getattr(old, "fileno", None) is None:
        return
    try:
        if old.fileno() != 1:
            return
    except (OSError, ValueError):
        return
    old.flush()
    raw = _StdoutFile(1, "w", closefd=False)
    buffered = io.BufferedWriter(raw)
    sys.stdout = io.TextIOWrapper(
        buffered,
        encoding=old.encoding,
        errors=old.errors,
        line_buffering=old.line_buffering,
        write_through=getattr(old, "write_through", False),
    )


def console() -> None:
    """The ``nlrp3annot`` command: :func:`main`, then leave without tearing the interpreter
    down object by object (40 ms after an 11,000-allele run). Every output file is complete
    and renamed by then; the standard streams are flushed here. With other threads alive
    (a Dask client), the normal exit runs instead."""
    import threading

    _stdout_that_names_itself()
    code = main()
    if threading.active_count() > 1:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # a reader like `head` went away: the output it wanted is out
        pass
    os._exit(code)
