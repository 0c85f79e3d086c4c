"""What the commands share: exit codes, the input list (files and ``--list``), the check
that no output replaces an input, and the run's record (its command line and, with
``--redact``, its pseudonyms). Nothing here sees an argparse Namespace."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nlrp3annot.errors import Nlrp3AnnotError

if TYPE_CHECKING:
    from nlrp3annot.io.redact import Redactor

EXIT_USER_ERROR = 2
EXIT_SOME_FAILED = 1  # several inputs, some failed: the rest were written


def input_paths(given: Sequence[str], listing: str | None) -> list[str]:
    """The input files: those ``given``, then those the ``--list`` file names (one a line,
    relative to the list)."""
    paths = list(given)
    if listing:
        listed = Path(listing)
        if not listed.is_file():
            raise Nlrp3AnnotError(f"{listed}: no such file (--list wants one VCF path a line)")
        for line in listed.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                path = Path(line)
                paths.append(str(path if path.is_absolute() else listed.parent / path))
    if not paths:
        raise Nlrp3AnnotError("no input: give VCF files or --list FILE")
    return paths


def check_outputs(outputs: list, inputs: list) -> None:
    """Refuse, before any work, an output path that would replace an input, a folder or a
    device (one line, exit 2); writing is atomic, so a refused run leaves nothing behind."""
    given = {Path(p).resolve() for p in inputs if p}
    for output in outputs:
        if not output:
            continue
        out = Path(output)
        existing = next((d for d in out.parents if d.exists()), None)
        if existing is not None and not existing.is_dir():
            raise Nlrp3AnnotError(
                f"{out}: {existing} is a file, not a folder; give an output path in a folder"
            )
        if out.is_dir():
            raise Nlrp3AnnotError(f"{out}: is a folder; give a file name for this output")
        if out.exists() and not out.is_file():
            raise Nlrp3AnnotError(f"{out}: is not a regular file; give a file name to write")
        if out.resolve() in given:
            raise Nlrp3AnnotError(
                f"{out}: is also an input of this run; give the output another name"
            )


@dataclass
class RunRecord:
    """What the outputs record of this run: the command line as the user typed it and,
    with ``--redact SALT_FILE``, pseudonyms. The salt is read (or made, and said so unless
    quiet) when an output first needs it, and once: every output of a run shares one
    Redactor."""

    command_line: tuple[str, ...]
    salt_file: str | None = None  # --redact
    quiet: bool = False
    _redactor: Redactor | None = field(default=None, init=False, repr=False)

    def redactor(self) -> Redactor | None:
        """The Redactor of --redact SALT_FILE (the same one for the whole run), or None."""
        if not self.salt_file:
            return None
        if self._redactor is None:
            from nlrp3annot.io.redact import Redactor

            self._redactor = Redactor.from_file(self.salt_file, announce=not self.quiet)
        return self._redactor

    def command(self) -> list[str]:
        """The command line as the outputs record it: with --redact, every path in it
        (inputs, outputs, the salt) as its pseudonym (Redactor.path)."""
        command = [str(word) for word in self.command_line or ("nlrp3annot", *sys.argv[1:])]
        redactor = self.redactor()
        if redactor is None:
            return command
        from nlrp3annot.cli.parser import literal_options

        return redactor.command(command, literal_options())

    def file_name(self, path: str | Path) -> str:
        """A file's name as the outputs record it (with --redact, its pseudonym)."""
        redactor = self.redactor()
        return str(redactor.path(str(path))) if redactor is not None else Path(path).name
