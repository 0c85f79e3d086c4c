"""How scripts/benchmark.py times a command: wall time and the peak memory of its largest
process, a failing command failing the run (the benchmark doubles as a smoke test)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

Cmd = list[str]


class CommandFailed(Exception):
    """A benchmarked command exited non-zero: the run must fail, not print a fast time."""


@dataclass
class Measure:
    wall: float  # seconds
    rss_kib: int  # peak RSS (maxrss, KiB)


def gnu_time() -> str | None:
    """GNU time, if installed: see run() for why it is needed."""
    path = shutil.which("time") or "/usr/bin/time"
    return path if Path(path).is_file() and "GNU" in output([path, "--version"]) else None


GNU_TIME: str | None = None  # set by the benchmark's main() (gnu_time())


def run(cmd: Cmd) -> Measure:
    """Run ``cmd`` with stdout discarded: wall time and peak RSS of its process tree.

    ru_maxrss from os.wait4 on a child of this script is floored at this script's own peak
    RSS (Linux folds the forked, or vfork-shared, memory map's high-water mark into the
    child's maxrss at exec), so a 4 MiB bcftools run would show as 40+ MiB, or as the
    size of the 20,000-sample generator. GNU time forks the command from its own ~1 MiB
    process and reports the true figure; os.wait4 is only the fallback."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as rss_out:
        full = [GNU_TIME, "-f", "%M", "-o", rss_out.name, *cmd] if GNU_TIME else cmd
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-3000:]
            raise CommandFailed(
                f"command failed (exit {proc.returncode}): {shlex.join(cmd)}\n{tail}"
            )
        rss = int(rss_out.read().split()[-1]) if GNU_TIME else usage.ru_maxrss
    return Measure(wall, rss)


def shell(script: str) -> Cmd:
    """A pipeline as one process tree; pipefail so a failing first stage is not hidden."""
    return ["bash", "-o", "pipefail", "-c", script]


def output(cmd: Cmd) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (proc.stdout + proc.stderr).strip()
