"""Resuming a batch (``--resume``): each finished file's result is kept on disk, so a rerun
after a crash, a kill or a full disk names only the files not done yet.

A result is kept under a key made of the nlrp3annot version, the run's settings (FASTA,
build, mosaic options, transcripts) and the input file's path, size and modification time:
a changed file, other options or another version are annotated again. The folder is removed
when the command has written all its outputs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from nlrp3annot.io.atomic import atomic_write_bytes


class Checkpoint:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def key(self, path: str, settings) -> str | None:
        from nlrp3annot import __version__

        try:
            stat = os.stat(path)
        except OSError:
            return None  # the run will say what is wrong with it
        text = "|".join(
            [__version__, repr(settings), os.path.abspath(path), str(stat.st_size)]
            + [str(stat.st_mtime_ns)]
        )
        import hashlib  # (here: its OpenSSL import was 3 ms of every run's start-up)

        return hashlib.sha256(text.encode()).hexdigest()

    def load(self, path: str, settings):
        """The result kept for ``path`` under these settings, or None."""
        import pickle  # (here and in save: a run without --resume never loads it)

        key = self.key(path, settings)
        if key is None:
            return None
        try:
            with (self.folder / f"{key}.pickle").open("rb") as handle:
                return pickle.load(handle)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError):
            return None  # none kept, or cut short by the crash: annotate it again

    def save(self, path: str, settings, result) -> None:
        import pickle

        key = self.key(path, settings)
        if key is not None:
            data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            atomic_write_bytes(self.folder / f"{key}.pickle", data)

    def count(self) -> int:
        return len(list(self.folder.glob("*.pickle"))) if self.folder.is_dir() else 0

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
