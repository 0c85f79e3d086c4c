"""What the commands print for a person: paths from one base, rich tables and progress
bars on a terminal, plain lines when the output is piped (logs, tests, pipelines).

Whether a stream is a terminal is rich's own decision (``Console.is_terminal``): a tty, or
the environment's ``FORCE_COLOR`` / ``TTY_COMPATIBLE`` saying so, ``TTY_COMPATIBLE=0`` or
``NO_COLOR`` style settings saying otherwise. rich is imported only when a command prints,
so ``--help`` and start-up do not pay for it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

PREFIX = "nlrp3annot: "

# (staging folder, results folder) of the results sets being written: a message names
# where a file will be, not the staging folder that is gone when the run ends
_MOVES: list[tuple[Path, Path]] = []


@contextmanager
def moving(staged: Path, final: Path) -> Iterator[None]:
    """While a results set is written under ``staged``, show its files under ``final``."""
    _MOVES.append((Path(staged).resolve(), Path(final).resolve()))
    try:
        yield
    finally:
        _MOVES.pop()


def shown(path: str | Path) -> str:
    """A path as every message shows it: relative to the current folder, or absolute when
    outside it; a file of a results set being written, at its final place."""
    where = Path(os.path.abspath(path))
    for staged, final in reversed(_MOVES):
        if where == staged or staged in where.parents:
            where = final / where.relative_to(staged)
            break
    here = Path.cwd()
    if where == here:
        return "."
    if here in where.parents:
        return where.relative_to(here).as_posix()
    return str(where)


def shown_folder(path: str | Path) -> str:
    """A folder as messages show it: :func:`shown`, ending in '/'."""
    text = shown(path)
    return text if text.endswith("/") else f"{text}/"


def say(text: str) -> None:
    """One plain line on stderr."""
    print(f"{PREFIX}{text}", file=sys.stderr)


def console_for(stream=None) -> Console | None:
    """A rich Console on ``stream`` (default stderr) when it is a terminal, else None (the
    plain form)."""
    from rich.console import Console

    console = Console(file=stream if stream is not None else sys.stderr, highlight=False)
    return console if console.is_terminal else None


def progress_bar(what: str, total: int, quiet: bool = False) -> Progress | None:
    """A transient rich progress bar on stderr when it is a terminal (and there is more
    than one thing to do); None otherwise: piped runs print no progress."""
    if quiet or total < 2:
        return None
    console = console_for()
    if console is None:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    )


def summary_block(title: str, rows: Sequence[tuple[str, str]], console: Console | None) -> None:
    """A closing summary: on a terminal a two-column rich table under ``title``; piped,
    one ``nlrp3annot: label: value`` line a row (what logs and tests read)."""
    if console is None:
        for label, value in rows:
            say(f"{label}: {value}")
        return
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE, show_header=False,
                  title_style="bold", pad_edge=False)  # fmt: skip
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)


def counts_text(counts: dict[str, int]) -> str:
    """'8 positive_germline, 7 positive_mosaic, 6 negative': the largest first, then by
    name."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{n} {name}" for name, n in ordered)
