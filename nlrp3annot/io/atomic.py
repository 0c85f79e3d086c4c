"""Writing files so that a crash never leaves half of one behind: write a temporary file in
the target folder, flush it to disk, then rename it into place."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import IO


@cache
def new_file_mode() -> int:
    """The permissions a newly created file gets here: 0666 less the process's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | Path, write: Callable[[IO[str]], object]) -> Path:
    """Run ``write(handle)`` on a temporary file next to ``path``, then rename it into place.
    OSError (unwritable folder, full disk) propagates for the caller to explain."""
    return _atomic(path, "w", write)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """:func:`atomic_write` of bytes, written as they are."""
    return _atomic(path, "wb", lambda handle: handle.write(data))


def atomic_write_binary(path: str | Path, write: Callable[[IO[bytes]], object]) -> Path:
    """:func:`atomic_write` for a writer of bytes (a large file copied in blocks)."""
    return _atomic(path, "wb", write)


def _atomic(path: str | Path, mode: str, write: Callable) -> Path:
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    text = {"encoding": "utf-8", "newline": ""} if "b" not in mode else {}
    try:
        with os.fdopen(fd, mode, **text) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600); an output is a normal file of the user's,
        # readable as their umask says (labs share results folders)
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise naming(exc, path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def naming(exc: OSError, path: str | Path) -> OSError:
    """``exc`` with the output's path when it has none (a failed write names no file, and
    "File too large" alone does not tell the user which output)."""
    if exc.filename is not None:
        return exc
    if exc.errno is None:  # a library's own message (htslib: "Error closing BGZFile object")
        return OSError(errno.EIO, f"could not be written ({exc})", str(path))
    return type(exc)(exc.errno, exc.strerror or str(exc), str(path))
