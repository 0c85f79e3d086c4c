"""One exception family. The CLI prints these as one line on stderr and exits 2;
anything else escaping is a bug and may show a traceback."""

from __future__ import annotations


class Nlrp3AnnotError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class InputFileError(Nlrp3AnnotError):
    """A file the user gave cannot be used (missing, unreadable, wrong format)."""

    def __init__(self, path: object, problem: str, hint: str = "") -> None:
        self.path = str(path)
        message = f"{self.path}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class RecordError(Nlrp3AnnotError):
    """One record of an input file is malformed."""

    def __init__(self, path: object, record: str, problem: str) -> None:
        super().__init__(f"{path}: record {record}: {problem}")


class ReferenceMismatchError(Nlrp3AnnotError):
    """A genome sequence is not the expected NLRP3 reference (wrong build or wrong file)."""


class FetchError(Nlrp3AnnotError):
    """A download of reference data failed or returned something unusable."""
