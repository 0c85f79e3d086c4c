"""--resume: a batch killed part-way (SIGKILL, after some files finished) and run again with
--resume gives byte-identical outputs to an uninterrupted run, without annotating the
finished files again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import TEST_FASTA
from joint_vcf import write_joint_vcf

FASTA = str(TEST_FASTA["GRCh38"])


def _annotate(listing: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nlrp3annot", "annotate", "--list", str(listing)]
        + ["--fasta", FASTA, "-o", str(out), "--patients", str(out.with_suffix(".patients.tsv"))]
        + ["--jobs", "1", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_killed_batch_resumes_to_identical_outputs(tmp_path: Path) -> None:
    inputs = tmp_path / "vcfs"
    inputs.mkdir()
    paths = [write_joint_vcf(inputs / f"b{i:02d}.vcf", 40, 300, seed=i) for i in range(24)]
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(str(p) for p in paths) + "\n")

    whole = tmp_path / "whole" / "calls.tsv"
    done = _annotate(listing, whole, "-q")
    assert done.wait(timeout=600) == 0, done.stderr.read()

    out = tmp_path / "resumed" / "calls.tsv"
    kept = out.parent / ".calls.tsv.resume"
    first = _annotate(listing, out, "--resume", "-q")
    deadline = time.time() + 300
    while time.time() < deadline and len(list(kept.glob("*.pickle"))) < 4:
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)
    first.wait()
    finished = len(list(kept.glob("*.pickle")))
    assert 4 <= finished < len(paths), finished  # killed part-way
    assert not out.exists()

    # A finished file changed in place with its size and time kept: a rerun that annotated
    # it again would differ from the uninterrupted run; --resume uses the kept result.
    changed = paths[0]
    stat = changed.stat()
    text = changed.read_text()
    edited = text.replace("\t0/1:", "\t1/0:", 1)
    assert edited != text and len(edited) == len(text)
    changed.write_text(edited)
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    again = _annotate(listing, out, "--resume")
    _, stderr = again.communicate(timeout=600)
    assert again.returncode == 0, stderr
    assert "resuming" in stderr
    assert out.read_bytes() == whole.read_bytes()
    patients = out.with_suffix(".patients.tsv")
    assert patients.read_bytes() == whole.with_suffix(".patients.tsv").read_bytes()
    assert not kept.exists()  # done: nothing left to resume


def test_resume_without_an_output_is_one_line(tmp_path: Path) -> None:
    vcf = write_joint_vcf(tmp_path / "one.vcf", 2, 5, seed=1)
    proc = subprocess.run(
        [sys.executable, "-m", "nlrp3annot", "annotate", str(vcf), "--fasta", FASTA, "--resume"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "nlrp3annot: error: --resume needs -o: the finished files are kept beside the output"
    )
