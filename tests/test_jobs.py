"""How many workers a run starts by default: what the scheduler gave the process, not every
core of the machine (taskset/affinity, Slurm's SLURM_CPUS_PER_TASK, a cgroup CPU quota)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nlrp3annot.runner.parallel import cgroup_cpus, default_jobs

ASK = [sys.executable, "-c", "from nlrp3annot.runner.parallel import default_jobs; "
       "print(default_jobs())"]  # fmt: skip


@pytest.mark.skipif(shutil.which("taskset") is None, reason="needs taskset (util-linux)")
def test_one_cpu_of_affinity_is_one_worker():
    out = subprocess.run(["taskset", "-c", "0", *ASK], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_slurm_cpus_per_task_caps_the_workers():
    env = {**os.environ, "SLURM_CPUS_PER_TASK": "1"}
    out = subprocess.run(ASK, capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "1"
    env["SLURM_CPUS_PER_TASK"] = "not-a-number"  # ignored, as Slurm would never set it
    out = subprocess.run(ASK, capture_output=True, text=True, check=True, env=env)
    assert int(out.stdout) == len(os.sched_getaffinity(0))


def test_cgroup_quotas_of_both_versions(tmp_path: Path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # 1.5 CPUs: one whole worker
    assert cgroup_cpus(tmp_path) == 1
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpus(tmp_path) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpus(v1) == 3
    assert cgroup_cpus(tmp_path / "none") is None
    assert default_jobs() >= 1
