"""The workflow-manager wrappers: the Snakemake workflow (workflow/Snakefile) gives what
`nlrp3annot run` gives on the same inputs, and the nf-core style Nextflow module
(modules/nlrp3annot/annotate) is well formed and builds a command line the real CLI accepts.

The expected values come from `nlrp3annot run` on the demo's files (found here by globbing
the demo folder, not through the Snakefile's sample sheet lookup), never from pasted output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from nlrp3annot import __version__

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "nlrp3annot" / "demo"
FASTA = DEMO / "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
SNAKEFILE = ROOT / "workflow" / "Snakefile"
CONFIG = ROOT / "workflow" / "config.yaml"
MODULE = ROOT / "modules" / "nlrp3annot" / "annotate"


def _env() -> dict[str, str]:
    """This checkout's nlrp3annot for the tool and for Snakemake's own Python, and the
    `nlrp3annot` command of this interpreter first on the PATH (the rules call it)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    return env


def _tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nlrp3annot", *args], capture_output=True, text=True, env=_env()
    )


def _snakemake_command(*args: str, directory: Path) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--configfile",
            str(CONFIG), "--cores", "2", "--directory", str(directory), *args]  # fmt: skip


def _snakemake(*args: str, directory: Path) -> subprocess.CompletedProcess:
    command = _snakemake_command(*args, directory=directory)
    return subprocess.run(command, capture_output=True, text=True, env=_env())


def _needs_snakemake() -> None:
    pytest.importorskip("snakemake", reason="snakemake is not installed (pip install snakemake)")
    if shutil.which("nlrp3annot", path=_env()["PATH"]) is None:
        pytest.skip("no `nlrp3annot` command on the PATH for the workflow's rules (pip install .)")


def _table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def _per_sample(folder: Path, suffix: str) -> pd.DataFrame:
    return pd.concat([_table(p) for p in sorted(folder.glob(f"*{suffix}"))], ignore_index=True)


def _as_data(table: pd.DataFrame, path_columns: tuple[str, ...]) -> pd.DataFrame:
    """Rows in one order, input paths by file name: `run` names its scan VCFs under
    annotation/scan/ and the workflow under scan/, and the two name the demo's files by
    different (equally valid) paths; every other cell must be the same."""
    table = table.copy()
    for column in path_columns:
        if column in table:
            table[column] = table[column].map(lambda p: Path(p).name)
    table = table[sorted(table.columns)]
    return table.sort_values(list(table.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory) -> tuple[Path, Path]:
    """(the Snakemake workflow's working directory, `nlrp3annot run`'s results folder)."""
    _needs_snakemake()
    base = tmp_path_factory.mktemp("workflow")
    workdir = base / "snakemake"
    inputs = sorted(DEMO.glob("vcf/*.vcf.gz")) + sorted(DEMO.glob("reads/*.cram"))
    run = [sys.executable, "-m", "nlrp3annot", "run", *map(str, inputs), "--fasta", str(FASTA),
           "--clinical", str(DEMO / "response.xlsx"), "--samples", str(DEMO / "samples.csv"),
           "--jobs", "2", "-o", str(base / "run"), "-q"]  # fmt: skip
    # the two at once (each is mostly one core at a time); output to files: no pipe to fill
    jobs = []
    for name, command in (("snakemake", _snakemake_command(directory=workdir)), ("run", run)):
        log = base / f"{name}.log"
        with log.open("w") as handle:
            jobs.append((log, subprocess.Popen(command, stdout=handle, stderr=handle, env=_env())))
    for log, job in jobs:
        assert job.wait() == 0, log.read_text()[-4000:]
    return workdir, base / "run"


def test_workflow_patients_as_run(both_ways):
    workdir, run = both_ways
    got = _per_sample(workdir / "annotate", ".patients.tsv")
    expected = _table(run / "annotation" / "patients.tsv")
    sheet = pd.read_csv(DEMO / "samples.csv", dtype=str)
    assert sorted(got["sample"]) == sorted(sheet["sample_id"])  # every sample, once
    assert set(got["status"]) >= {"positive_germline", "positive_mosaic", "negative"}
    pd.testing.assert_frame_equal(_as_data(got, ("file",)), _as_data(expected, ("file",)))


def test_workflow_calls_and_skipped_as_run(both_ways):
    workdir, run = both_ways
    got = _per_sample(workdir / "annotate", ".calls.tsv")
    expected = _table(run / "annotation" / "calls.tsv")
    assert len(expected) > 0
    pd.testing.assert_frame_equal(_as_data(got, ("file",)), _as_data(expected, ("file",)))
    got = _per_sample(workdir / "annotate", ".skipped.tsv")
    expected = _table(run / "annotation" / "calls.skipped.tsv")
    pd.testing.assert_frame_equal(_as_data(got, ("path",)), _as_data(expected, ("path",)))


def test_workflow_scans_the_reads_together_as_run(both_ways):
    """One scan job over every BAM/CRAM: each sample's background is the others', as in run."""
    workdir, run = both_ways
    got = _table(workdir / "scan" / "scan.tsv")
    expected = _table(run / "annotation" / "scan" / "scan.tsv")
    assert set(got["sample"]) == {"P16-amplicon", "P17-amplicon"}
    pd.testing.assert_frame_equal(_as_data(got, ("file",)), _as_data(expected, ("file",)))
    called = got[(got["sample"] == "P16-amplicon") & (got["verdict"] == "called")]
    assert list(called["hgvs_p"]) == ["NP_001230062.1:p.Gly569Arg"]  # the README's mosaic


def test_workflow_comparison_as_run(both_ways):
    workdir, run = both_ways
    results = workdir / "results"
    tables = sorted(p.name for p in (run / "tables").glob("*.tsv"))
    assert "patients.tsv" in tables and "groups.tsv" in tables
    assert sorted(p.name for p in (results / "tables").glob("*.tsv")) == tables
    for name in tables:
        pd.testing.assert_frame_equal(
            _table(results / "tables" / name), _table(run / "tables" / name), obj=name
        )
    got = json.loads((results / "summary.json").read_text())
    expected = json.loads((run / "summary.json").read_text())
    # `inputs` and `provenance` name the input files and the command line (compare's 21
    # patients.tsv files against run's one); every result is the same
    for summary in (got, expected):
        summary.pop("inputs")
        summary.pop("provenance")
    # run genotyped against a FASTA and says which; compare reads finished genotypes
    assert expected.pop("genotyping")["fasta"] == "TEST_LOCUS_GRCh38_not_real_genome.fa.gz"
    assert "genotyping" not in got
    assert got == expected
    assert got["groups"]["mutation_positive"] and got["groups"]["mutation_negative"]
    assert (results / "report.html").stat().st_size > 0
    assert json.loads((results / "run.json").read_text())["complete"] is True


def test_workflow_logs_and_threads(both_ways):
    workdir, _ = both_ways
    logs = workdir / "logs"
    assert (logs / "scan.log").is_file() and (logs / "compare.log").is_file()
    sheet = pd.read_csv(DEMO / "samples.csv", dtype=str)
    assert sorted(p.stem for p in (logs / "annotate").glob("*.log")) == sorted(sheet["sample_id"])
    assert "mutation_positive" in (logs / "compare.log").read_text()
    # the one-job target plans `nlrp3annot run` over every sample's input, threads as --jobs
    proc = _snakemake("-n", "-p", "nlrp3annot_run", directory=workdir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    command = next(line for line in proc.stdout.splitlines() if "nlrp3annot run " in line)
    assert "--jobs 2" in command
    assert command.count(".vcf.gz ") == len(list(DEMO.glob("vcf/*.vcf.gz")))
    assert command.count(".cram ") == len(list(DEMO.glob("reads/*.cram")))


def test_workflow_sample_without_input_is_refused(tmp_path):
    _needs_snakemake()
    proc = _snakemake("-n", "--config", "vcf=nowhere/{sample}.vcf.gz", directory=tmp_path)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    with_reads = len(list(DEMO.glob("reads/*.cram")))  # still found: only `vcf` is changed
    missing = len(pd.read_csv(DEMO / "samples.csv")) - with_reads
    assert f"{missing} sample(s)" in text and "have no input file" in text
    assert "P01-blood" in text and "nowhere/{sample}.vcf.gz" in text


# --- the Nextflow module -------------------------------------------------------------------
# Nextflow cannot be installed on this machine (no network beyond the Python and Debian
# package registries), so these tests check the module as text: its Groovy is balanced, the
# nf-core elements are there, every option its command line gives is one that
# `nlrp3annot annotate --help` lists, and the script block, rendered as Nextflow would
# render it, runs on the demo. test_nextflow_lint runs the real `nextflow lint` where
# Nextflow is installed.


def _groovy_problems(text: str) -> list[str]:
    """Unbalanced brackets outside strings, strings left open, `${` left open."""
    problems: list[str] = []
    stack: list[tuple[str, int]] = []
    pairs = {"}": "{", ")": "(", "]": "["}
    i, line = 0, 1
    while i < len(text):
        ch = text[i]
        if ch == "\n":
            line += 1
        if text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
            continue
        quote = '"""' if text.startswith('"""', i) else ch if ch in "\"'" else None
        if quote:
            start, i = line, i + len(quote)
            depth = 0
            while i < len(text) and not (depth == 0 and text.startswith(quote, i)):
                if text[i] == "\\":
                    i += 1
                elif text[i] == "\n":
                    line += 1
                    if quote != '"""':
                        problems.append(f"line {start}: string {quote} not closed on its line")
                        break
                elif quote != "'" and text.startswith("${", i):
                    depth += 1
                    i += 1
                elif text[i] == "}" and depth:
                    depth -= 1
                i += 1
            if i >= len(text):
                problems.append(f"line {start}: string {quote} never closed")
            if depth:
                problems.append(f"line {start}: ${{ not closed in a string")
            i += len(quote)
            continue
        if ch in "{([":
            stack.append((ch, line))
        elif ch in "})]":
            if not stack or stack[-1][0] != pairs[ch]:
                problems.append(f"line {line}: {ch} closes nothing open")
            else:
                stack.pop()
        i += 1
    problems += [f"line {n}: {ch} never closed" for ch, n in stack]
    return problems


def _block(text: str, start: str, end: str | None) -> str:
    """The triple-quoted shell string of a process's script: or stub: section."""
    section = text.split(start, 1)[1]
    if end:
        section = section.split(end, 1)[0]
    return section.split('"""')[1]


def _render(script: str, values: dict[str, str]) -> str:
    """The shell script Nextflow would run: ${...} filled in, Groovy escapes undone, the
    common indentation removed."""

    def fill(match: re.Match) -> str:
        return values[match.group(1)]

    text = re.sub(r"(?<!\\)\$\{([^}]+)\}", fill, script)
    return textwrap.dedent(text.replace("\\\\", "\\").replace("\\$", "$"))


def _options(text: str) -> set[str]:
    """The -x / --long-option words of a command line or a --help text."""
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))


def _annotate_options() -> set[str]:
    proc = _tool("annotate", "--help")
    assert proc.returncode == 0, proc.stderr
    return _options(proc.stdout)


def test_nextflow_module_is_balanced_and_nf_core_shaped():
    text = (MODULE / "main.nf").read_text()
    assert _groovy_problems(text) == []
    assert _groovy_problems('x { "a ${b" }') != []  # (the checker finds what it should)
    for element in (
        "process NLRP3ANNOT_ANNOTATE {",
        'tag "$meta.id"',
        "label 'process_single'",
        "tuple val(meta), path(vcf), path(tbi)",
        "tuple val(meta2), path(fasta), path(fai), path(gzi)",
        'tuple val(meta), path("*.calls.tsv")   , emit: calls',
        'tuple val(meta), path("*.patients.tsv"), emit: patients',
        'tuple val(meta), path("*.skipped.tsv") , emit: skipped',
        'path "versions.yml"                    , emit: versions',
        "task.ext.when == null || task.ext.when",
        "def args   = task.ext.args ?: ''",
        'def prefix = task.ext.prefix ?: "${meta.id}"',
        "--jobs ${task.cpus}",
        "nlrp3annot: \\$(nlrp3annot --version 2>&1 | sed 's/^nlrp3annot //')",
    ):
        assert element in text, element
    order = [text.index(f"\n    {s}:\n") for s in ("input", "output", "when", "script", "stub")]
    assert order == sorted(order)


def test_nextflow_module_options_are_the_clis():
    text = (MODULE / "main.nf").read_text()
    script = _block(text, "\n    script:\n", "\n    stub:\n")
    command = script.split("nlrp3annot annotate", 1)[1].split("\n\n", 1)[0]
    command = command.replace("\\\\\n", " ")  # Groovy's \\ + newline: a shell continuation
    used = _options(command)
    assert {"--fasta", "--jobs", "--output", "--patients", "--skipped"} <= used
    assert used <= _annotate_options(), used - _annotate_options()
    # the placeholders are the declared inputs, the task's cpus, the prefix and ext.args
    assert set(re.findall(r"\$\{([^}]+)\}", command)) == {
        "vcf", "fasta", "task.cpus", "prefix", "args",
    }  # fmt: skip
    assert "--version" in _options(_tool("--help").stdout)  # versions.yml's command


def test_nextflow_module_script_runs_as_rendered(tmp_path):
    """The script and stub blocks, filled in as Nextflow would for the demo's P09-blood,
    write the outputs the output: globs take and a versions.yml naming this version."""
    yaml = pytest.importorskip("yaml")
    text = (MODULE / "main.nf").read_text()
    vcf = DEMO / "vcf" / "P09-blood.vcf.gz"
    for block, end in (("script", "stub"), ("stub", None)):
        work = tmp_path / block
        work.mkdir()
        for path in (vcf, Path(f"{vcf}.tbi"), FASTA, *FASTA.parent.glob(f"{FASTA.name}.*")):
            (work / path.name).symlink_to(path)  # staged inputs, as Nextflow does
        values = {
            "vcf": vcf.name, "fasta": FASTA.name, "task.cpus": "1", "prefix": "P09-blood",
            "args": "--min-depth 20", "task.process": "NLRP3ANNOT_ANNOTATE",
        }  # fmt: skip
        shell = _render(_block(text, f"\n    {block}:\n", end and f"\n    {end}:\n"), values)
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", shell], cwd=work, capture_output=True,
            text=True, env=_env(),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        for glob in ("*.calls.tsv", "*.patients.tsv", "*.skipped.tsv"):
            assert [p.name for p in work.glob(glob)] == [f"P09-blood{glob[1:]}"]
        versions = yaml.safe_load((work / "versions.yml").read_text())
        assert versions == {"NLRP3ANNOT_ANNOTATE": {"nlrp3annot": __version__}}
    patients = _table(tmp_path / "script" / "P09-blood.patients.tsv")
    assert list(patients["status"]) == ["positive_mosaic"]


def test_nextflow_meta_yml_matches_main_nf():
    yaml = pytest.importorskip("yaml")
    meta = yaml.safe_load((MODULE / "meta.yml").read_text())
    text = (MODULE / "main.nf").read_text()
    assert meta["name"] == "nlrp3annot_annotate" and "nlrp3annot" in meta["tools"][0]
    inputs = [[next(iter(item)) for item in channel] for channel in meta["input"]]
    assert inputs == [["meta", "vcf", "tbi"], ["meta2", "fasta", "fai", "gzi"]]
    for channel in inputs:
        names = ", ".join(f"val({n})" if n.startswith("meta") else f"path({n})" for n in channel)
        assert f"tuple {names}" in text
    outputs = {next(iter(o)): o[next(iter(o))] for o in meta["output"]}
    assert list(outputs) == re.findall(r"emit: (\w+)", text)
    for emit, items in outputs.items():
        pattern = next(k for item in items for k in item if k != "meta")
        assert f'"{pattern}"' in text, (emit, pattern)


def test_nextflow_lint():
    if shutil.which("nextflow") is None:
        pytest.skip(
            "Nextflow is not installed (this machine has no network beyond the package "
            "registries): `nextflow lint` and a real -stub run are not possible here; the "
            "module is checked structurally and its rendered script is run by the tests above"
        )
    proc = subprocess.run(["nextflow", "lint", str(MODULE / "main.nf")], capture_output=True,
                          text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
