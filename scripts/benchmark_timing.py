"""How scripts/benchmark.py times a workload and writes its rows: each command's wall time
and the peak memory of its largest process, medians over repeats with ours and the anchors
taking turns, the goals' verdicts, and a failing command failing the run (the benchmark
doubles as a smoke test)."""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

Cmd = list[str]
Goal = tuple[str, float]  # ("ratio", max) | ("ours_s", max) | ("rss_mb", max)


@dataclass
class Workload:
    """One table row per anchor: (name, command, goals); an empty command is an n/a row
    and ``ours`` None means our command is not run (--anchors-only)."""

    label: str
    ours: Cmd | None
    anchors: list[tuple[str, Cmd, list[Goal]]]
    note: str = ""
    key: str = ""  # (for a derived row: which workload this is)
    variants: int = 0  # variants in the input (for a per-variant row)
    per_variant_from: str = ""  # key of the smaller input: print the cost of a variant


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


def verdict(goal: Goal, ours: float | None, ratio: float | None, rss_kib: int | None) -> str:
    kind, limit = goal
    if kind == "ratio":
        text, value, ok = f"ratio <= {limit:g}", ratio, ratio is not None and ratio <= limit
    elif kind == "ours_s":
        text, value, ok = f"< {limit:g} s", ours, ours is not None and ours < limit
    else:
        value = rss_kib
        text, ok = f"RSS < {limit:g} MB", rss_kib is not None and rss_kib * 1024 < limit * 1e6
    return f"{text}: {'n/a' if value is None else 'yes' if ok else 'NO'}"


Medians = dict[str, float | None]  # ours ("") and each anchor (by name) -> median seconds


def measure(w: Workload, repeats: int) -> tuple[list[str], Medians]:
    """Run ours and the anchors ``repeats`` times, each iteration one of each (so a noisy
    spell hits both); one Markdown row per anchor, and the medians."""
    ours: list[Measure] = []
    theirs: list[list[Measure]] = [[] for _ in w.anchors]
    for _ in range(repeats):
        if w.ours:
            ours.append(run(w.ours))
        for runs, (_, cmd, _) in zip(theirs, w.anchors, strict=True):
            if cmd:
                runs.append(run(cmd))
    ours_s = statistics.median(x.wall for x in ours) if ours else None
    ours_rss = max(x.rss_kib for x in ours) if ours else None
    rows = []
    medians: Medians = {"": ours_s}
    for runs, (name, cmd, goals) in zip(theirs, w.anchors, strict=True):
        anchor_s = medians[name] = statistics.median(x.wall for x in runs) if runs else None
        anchor_rss = max(x.rss_kib for x in runs) if runs else None
        ratio = ours_s / anchor_s if ours_s is not None and anchor_s else None
        verdicts = [verdict(g, ours_s, ratio, ours_rss) for g in goals]
        goal = "; ".join(verdicts + ([f"({w.note})"] if w.note else [])) or "—"
        mib = " / ".join("n/a" if v is None else f"{v / 1024:.0f}" for v in (ours_rss, anchor_rss))
        anchor = f"{name} (n/a)" if name and not cmd else name or "—"
        rows.append(
            f"| {w.label} | {'skipped' if ours_s is None else f'{ours_s:.3f}'} | {anchor} "
            f"| {'n/a' if anchor_s is None else f'{anchor_s:.3f}'} "
            f"| {'—' if ratio is None else f'{ratio:.2f}'} | {goal} | {mib} |"
        )
    return rows, medians


def per_variant_rows(small: Workload, large: Workload, timed: dict[str, Medians]) -> list[str]:
    """The cost of one more variant, ours and each anchor both inputs share: (large -
    small) / (variants added), the start-up of each program cancelling out. Microseconds
    in the seconds columns' place; no goal (the issue's goals are on whole runs)."""
    a, b = timed[small.key], timed[large.key]
    added = large.variants - small.variants
    ours = (b[""] - a[""]) / added * 1e6 if b[""] is not None and a[""] is not None else None
    rows = []
    for name, _, _ in large.anchors:
        theirs = None
        if a.get(name) is not None and b.get(name) is not None:
            theirs = (b[name] - a[name]) / added * 1e6
        ratio = ours / theirs if ours is not None and theirs else None
        rows.append(
            f"| per variant: ({large.key} - {small.key}) / {added:,} "
            f"| {'n/a' if ours is None else f'{ours:.1f} us'} | {name} "
            f"| {'n/a' if theirs is None else f'{theirs:.2f} us'} "
            f"| {'—' if ratio is None else f'{ratio:.1f}'} | — (start-up left out) | — |"
        )
    return rows
