"""Results folders are written as one set: locked, staged, moved into place, and listed in
run.json with hashes. Faults are real: a second process holding the lock, a run that raises,
a rename that fails, and SIGKILL of a running `nlrp3annot compare` at several moments."""

from __future__ import annotations

import fcntl
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import compare_args

from nlrp3annot.errors import Nlrp3AnnotError
from nlrp3annot.io.output_set import MANIFEST, incomplete_outputs, output_set, verify


def _write_set(folder: Path, text: str, names=("summary.json", "tables/a.tsv")) -> None:
    with output_set(folder, ["test"]) as staging:
        for name in names:
            path = staging.path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


def test_a_set_replaces_the_previous_one_as_a_whole(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    _write_set(folder, "first", ("summary.json", "tables/a.tsv", "tables/old_only.tsv"))
    (folder / "mine.txt").write_text("a file of the user's")  # not ours: never touched
    _write_set(folder, "second")
    assert (folder / "summary.json").read_text() == "second"
    assert (folder / "tables/a.tsv").read_text() == "second"
    assert not (folder / "tables/old_only.tsv").exists()  # the previous run's, not this one's
    assert (folder / "mine.txt").exists()
    manifest = json.loads((folder / MANIFEST).read_text())
    assert sorted(manifest["files"]) == ["summary.json", "tables/a.tsv"]
    assert manifest["complete"] is True and manifest["command"] == ["test"]
    assert verify(folder) == []
    (folder / "tables/a.tsv").write_text("edited")
    assert verify(folder) == ["tables/a.tsv"]
    assert not list(folder.glob(".staging-*"))


def test_a_failed_run_leaves_the_previous_set_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    _write_set(folder, "good")
    with pytest.raises(ValueError), output_set(folder, ["test"]) as staging:
        (staging.path / "summary.json").write_text("half")
        raise ValueError("the comparison failed")
    assert (folder / "summary.json").read_text() == "good"
    assert verify(folder) == []
    assert not list(folder.glob(".staging-*"))


def test_a_move_that_fails_leaves_no_run_json(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    _write_set(folder, "good")
    (folder / "tables" / "a.tsv").unlink()
    (folder / "tables" / "a.tsv").mkdir()  # a folder where a file must go: rename fails
    (folder / "tables" / "a.tsv" / "x").write_text("in the way")
    with pytest.raises(OSError):
        _write_set(folder, "new")
    assert not (folder / MANIFEST).exists()
    assert incomplete_outputs(folder)


def test_a_second_run_into_a_locked_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            f"h = open({str(folder / '.nlrp3annot.lock')!r}, 'a')\n"
            "fcntl.flock(h, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(Nlrp3AnnotError, match="another nlrp3annot run is writing there"):
            _write_set(folder, "x")
    finally:
        holder.kill()
        holder.wait()
    _write_set(folder, "after")  # the lock went with the process
    assert verify(folder) == []
    assert not (folder / ".nlrp3annot.lock").exists()  # this run removed its lock file
    with open(folder / ".nlrp3annot.lock", "a") as handle:  # and released it
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_finished_set_keeps_no_lock_file(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    _write_set(folder, "good")
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, "summary.json", "tables"]


def test_a_failed_first_run_leaves_no_folder(tmp_path: Path) -> None:
    """The folders the run made (results/ and a parent it needed) go with it; the
    user's own folder above them stays."""
    folder = tmp_path / "new" / "results"
    with pytest.raises(ValueError), output_set(folder, ["test"]) as staging:
        (staging.path / "summary.json").write_text("half")
        raise ValueError("the comparison failed")
    assert not (tmp_path / "new").exists()
    assert tmp_path.is_dir()


def test_a_failed_run_into_a_users_folder_keeps_its_files(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "notes.txt").write_text("the user's")
    with pytest.raises(ValueError), output_set(folder, ["test"]):
        raise ValueError("the comparison failed")
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_sigkill_never_leaves_a_mixed_set(tmp_path: Path) -> None:
    """`compare` killed at several moments: the folder is either a complete set that its
    run.json vouches for, or has no run.json (and the next run says so and replaces it)."""
    demo = tmp_path / "demo"
    subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "demo", "-o", str(demo), "-q"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    genotypes = demo / "annotation" / "patients.tsv"
    out = tmp_path / "compared"
    command = [
        sys.executable, "-m", "nlrp3annot",
        *compare_args(genotypes, demo / "inputs" / "response.xlsx",
                      demo / "inputs" / "samples.csv", out),
        "-q",
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    first = json.loads((out / MANIFEST).read_text())
    for delay in (0.2, 0.6, 1.0, 1.4, 1.8, 2.2):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if (out / MANIFEST).exists():
            assert verify(out) == []
        else:
            assert incomplete_outputs(out)
            again = subprocess.run(command, capture_output=True, text=True, timeout=600)
            assert again.returncode == 0
            assert "did not finish" in again.stderr
            assert verify(out) == []
    final = json.loads((out / MANIFEST).read_text())
    assert sorted(final["files"]) == sorted(first["files"])
