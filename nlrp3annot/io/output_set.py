"""A results folder written as one set, never a mix of two runs.

``run``, ``demo`` and ``compare`` write several files that must agree with each other
(calls, patients, tables, summary, report). Each file is written atomically, but a run killed
between two files used to leave new calls beside old patients. So a run:

1. takes an exclusive lock on the folder (a second run into it stops with one line; the
   lock file is removed when the run ends);
2. writes every output into a hidden staging folder inside it;
3. when all are written, removes ``run.json``, moves the outputs into place, removes the
   files of the previous run that this one did not make, and writes a new ``run.json``
   listing every file with its SHA-256.

A folder whose ``run.json`` is missing was left by a run that did not finish; a folder whose
files do not match their ``run.json`` hashes was changed afterwards. A run that fails before
step 3 leaves the previous results untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nlrp3annot.errors import Nlrp3AnnotError
from nlrp3annot.io.atomic import atomic_write

MANIFEST = "run.json"
LOCK = ".nlrp3annot.lock"
STAGING_PREFIX = ".staging-"


@dataclass(frozen=True)
class Staging:
    """Where a run writes (``path``) and where its files will be (``folder``)."""

    path: Path
    folder: Path

    def shown(self, path: str | Path) -> Path:
        """The final place of a file written under the staging folder (for messages)."""
        try:
            return self.folder / Path(path).relative_to(self.path)
        except ValueError:
            return Path(path)


@contextmanager
def output_set(folder: str | Path, command: list[str] | None = None) -> Iterator[Staging]:
    """Write a run's outputs under ``Staging.path``; on success they replace the folder's
    previous set as a whole (see the module notes). The lock file goes when the run ends,
    and a run that fails removes the folders it made (empty by then): a failed first run
    leaves nothing, a finished one its results only."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise Nlrp3AnnotError(f"{folder}: is a file; -o names the results folder")
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    finished = False
    try:
        with _locked(folder):
            for left in folder.glob(STAGING_PREFIX + "*"):  # a killed run's (we hold the lock)
                shutil.rmtree(left, ignore_errors=True)
            staging = Staging(Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder)), folder)
            try:
                yield staging
                _put_in_place(staging, command if command is not None else sys.argv)
                finished = True
            finally:
                shutil.rmtree(staging.path, ignore_errors=True)
    finally:
        if not finished:
            for path in made:  # innermost first; a folder holding anything stays
                try:
                    path.rmdir()
                except OSError:
                    break


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``folder`` (a second run stops with one line), and remove
    the lock file before releasing it. A run that opened the file just before it was
    removed finds its lock on a file no longer in the folder, and tries again."""
    import fcntl

    path = folder / LOCK
    for _ in range(5):
        lock = open(path, "a")  # noqa: SIM115 (held for the whole run)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise Nlrp3AnnotError(
                f"{folder}: another nlrp3annot run is writing there; wait for it to finish "
                "or choose another -o folder"
            ) from None
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        if current is not None and os.path.samestat(current, os.fstat(lock.fileno())):
            break
        lock.close()  # the previous holder removed this file: lock the new one
    else:
        raise Nlrp3AnnotError(f"{folder}: cannot take the lock {path.name}; try again")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)  # while still held: nobody else owns this file
        lock.close()  # releases the lock


def incomplete_outputs(folder: str | Path) -> bool:
    """Does ``folder`` hold outputs of a run that did not finish (files, no run.json)?"""
    folder = Path(folder)
    if not folder.is_dir() or (folder / MANIFEST).exists():
        return False
    return any(
        p.name in ("summary.json", "report.html") or p.name == "annotation"
        for p in folder.iterdir()
    )


def verify(folder: str | Path) -> list[str]:
    """Files of ``folder`` that are missing or differ from its run.json (empty: all agree)."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return [MANIFEST]
    return [
        name
        for name, digest in manifest.get("files", {}).items()
        if not (folder / name).is_file() or file_sha256(folder / name) != digest
    ]


def _put_in_place(staging: Staging, command: list[str]) -> None:
    folder = staging.folder
    made = sorted(
        p.relative_to(staging.path).as_posix() for p in staging.path.rglob("*") if p.is_file()
    )
    previous = _previous_files(folder)
    digests = {name: file_sha256(staging.path / name) for name in made}
    (folder / MANIFEST).unlink(missing_ok=True)  # from here until the end: not a set
    for name in made:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging.path / name, target)
    for name in previous - set(made):
        (folder / name).unlink(missing_ok=True)
    from nlrp3annot import __version__

    manifest = {
        "nlrp3annot": __version__,
        "command": list(command),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "complete": True,
        "files": digests,
    }
    atomic_write(folder / MANIFEST, lambda h: json.dump(manifest, h, indent=1))


def _previous_files(folder: Path) -> set[str]:
    try:
        files = json.loads((folder / MANIFEST).read_text()).get("files", {})
    except (OSError, ValueError, AttributeError):
        return set()
    # only plain relative names inside the folder: a hand-edited run.json cannot make a
    # run delete anything else
    return {
        name
        for name in files
        if isinstance(name, str) and not Path(name).is_absolute() and ".." not in Path(name).parts
    }


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
